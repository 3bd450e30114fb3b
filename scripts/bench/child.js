// Runs one bench module in this (fresh, --expose-gc) process and prints its result as one JSON line.
import { pathToFileURL } from 'node:url';

const file = process.argv[2];
try {
  const mod = await import(pathToFileURL(file).href);
  const result = await mod.run();
  process.stdout.write(JSON.stringify({ meta: mod.meta, ...result }) + '\n');
  process.exit(0);
} catch (err) {
  console.error(err);
  process.exit(1);
}
