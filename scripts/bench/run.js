#!/usr/bin/env node
// `npm run bench`: runs every benchmark module listed in BENCHES, each in its
// own child process (`node --expose-gc`, so heap figures are not disturbed by
// the previous bench), on the BUILT code in dist/. Prints the results and
// rewrites their sections of docs/benchmarks.md (sections are delimited by
// <!-- bench:ID --> markers; sections of benches not run are kept).
//
// Usage: node scripts/bench/run.js [ID ...]      (default: all)
//
// A bench module (scripts/bench/<file>.js) exports:
//   export const meta = { id, title, anchor }       // anchor: the reference figure, markdown
//   export async function run() -> { rows: [{ metric, value, unit, anchor? }], notes?: string[] }
// Benchmarks measure; they never assert. Use medians of several runs.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');

// Add a bench: create scripts/bench/<name>.js and list it here.
export const BENCHES = [
  'execution-graph-build.js',
  'restart-computation.js',
  'deploy-in-process.js',
  // transport benches (RPC deploy, heartbeat throughput) are added by the RPC work:
  'deploy-over-rpc.js',
  'rpc-heartbeat-throughput.js',
  // checkpoint coordination (issue 4)
  'checkpoint-coordination.js',
  'checkpoint-over-rpc.js',
];

function runChild(file) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--expose-gc', join(here, 'child.js'), join(here, file)], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('close', (code) => {
      const line = out.trim().split('\n').filter((l) => l.startsWith('{')).at(-1);
      if (code !== 0 || !line) resolve({ error: `exit code ${code}` });
      else resolve(JSON.parse(line));
    });
  });
}

function machine() {
  const cpus = os.cpus();
  let cgroup = '';
  try {
    const max = readFileSync('/sys/fs/cgroup/cpu.max', 'utf8').trim();
    cgroup = ` (cgroup cpu.max: ${max})`;
  } catch {
    /* not cgroup v2 */
  }
  return [
    `- CPU: ${cpus[0]?.model ?? 'unknown'} x ${cpus.length}${cgroup}`,
    `- Memory: ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    `- OS: ${os.type()} ${os.release()} ${os.arch()}`,
    `- Node: ${process.version}`,
    `- Date: ${new Date().toISOString()}`,
    '- Note: a shared 2-core development machine; other work may have been running.',
  ].join('\n');
}

function section(id, meta, result) {
  const lines = [`<!-- bench:${id} -->`, `### ${meta?.title ?? id}`, ''];
  if (meta?.anchor) lines.push(`Anchor: ${meta.anchor}`, '');
  if (result.error) lines.push(`Not measured: ${result.error}`);
  else {
    lines.push('| metric | value | anchor |', '|---|---|---|');
    for (const r of result.rows) lines.push(`| ${r.metric} | ${r.value} ${r.unit ?? ''} | ${r.anchor ?? ''} |`);
    for (const n of result.notes ?? []) lines.push('', n);
  }
  lines.push(`<!-- /bench:${id} -->`);
  return lines.join('\n');
}

async function main() {
  if (!existsSync(join(root, 'dist', 'jobs', 'dispatcher.js'))) {
    console.error('dist/ is missing: run `npm run build` first (npm run bench does it)');
    process.exit(1);
  }
  const wanted = process.argv.slice(2);
  const docPath = join(root, 'docs', 'benchmarks.md');
  let doc = existsSync(docPath)
    ? readFileSync(docPath, 'utf8')
    : '# Benchmarks\n\nProduced by `npm run bench` (scripts/bench/run.js) on the built code; medians of several runs. They measure, they do not assert.\n\n## Machine\n\n<!-- machine -->\n<!-- /machine -->\n\n## Results\n';
  let ran = 0;
  for (const file of BENCHES) {
    const id = file.replace(/\.js$/, '');
    if (wanted.length > 0 && !wanted.includes(id)) continue;
    if (!existsSync(join(here, file))) {
      console.log(`- ${id}: not present, skipped`);
      continue;
    }
    console.log(`- ${id} ...`);
    const result = await runChild(file);
    ran++;
    if (result.error) console.log(`  FAILED: ${result.error}`);
    else for (const r of result.rows) console.log(`  ${r.metric}: ${r.value} ${r.unit ?? ''}${r.anchor ? `   (anchor: ${r.anchor})` : ''}`);
    const text = section(id, result.meta, result);
    const re = new RegExp(`<!-- bench:${id} -->[\\s\\S]*?<!-- /bench:${id} -->`);
    doc = re.test(doc) ? doc.replace(re, text) : `${doc.trimEnd()}\n\n${text}\n`;
  }
  if (ran > 0) {
    doc = doc.replace(/<!-- machine -->[\s\S]*?<!-- \/machine -->/, `<!-- machine -->\n${machine()}\n<!-- /machine -->`);
    writeFileSync(docPath, doc);
    console.log(`updated ${docPath}`);
  }
}

await main();
