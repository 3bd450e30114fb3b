// appsettings.json: flat dotted keys (`"jobmanager.process.memory.size": "1g"`)
// or nested objects (`{"jobmanager": {"process": {"memory": {"size": "1g"}}}}`),
// or a mix; leaves are strings, numbers or booleans.
import { readFileSync } from 'node:fs';
import { ConfigError } from './errors.js';

export interface FileConfigEntry {
  /** Dotted key path as written (canonical key, alias or unknown). */
  readonly name: string;
  readonly value: string;
  readonly origin: string;
}

/**
 * Reads and flattens a settings file. `displayPath` is how the file is named
 * in messages. A missing file is an error here: callers decide whether the
 * file is optional.
 */
export function readSettingsFile(path: string, displayPath: string = path): FileConfigEntry[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new ConfigError(`configuration file ${displayPath} cannot be read (${code}); check --config or JOBMANAGER_CONFIG_FILE`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    const why = (err as Error).message.replace(/\s+/g, ' ');
    throw new ConfigError(`configuration file ${displayPath} is not valid JSON (${why}); expected an object of keys and string/number/boolean values`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError(`configuration file ${displayPath} must hold a JSON object of keys, not ${describe(parsed)}`);
  }
  const entries: FileConfigEntry[] = [];
  const origin = `file ${displayPath}`;
  const walk = (node: Record<string, unknown>, prefix: string): void => {
    for (const [segment, value] of Object.entries(node)) {
      const name = prefix === '' ? segment : `${prefix}.${segment}`;
      if (typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value))) {
        entries.push({ name, value: String(value), origin });
      } else if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
        walk(value as Record<string, unknown>, name);
      } else {
        throw new ConfigError(
          `configuration file ${displayPath}: ${name} is ${describe(value)}; accepted: a string, number or boolean (or an object of keys)`,
          [name],
        );
      }
    }
  };
  walk(parsed as Record<string, unknown>, '');
  return entries;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}
