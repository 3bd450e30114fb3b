#!/usr/bin/env node
// Prints the worked memory-plan table of docs/memory.md, computed by the real
// CLI (`node dist/cli.js memory plan --json`) for each container memory limit
// with no other memory configuration: the same plan the JobManager derives
// from a cgroup limit. Needs a build (`npm run build`).
//
//   node scripts/memory-table.js [limit...]     default: 192Mi 256Mi 512Mi 1Gi 2Gi 4Gi 16Gi
//
// test/boot/docs-memory-table.test.ts checks that docs/memory.md contains
// exactly this output, so the documentation follows the derivation.
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const DEFAULT_LIMITS = ['192Mi', '256Mi', '512Mi', '1Gi', '2Gi', '4Gi', '16Gi'];
const MiB = 1024 * 1024;

/** The plan JSON for a container limit, from the CLI in a clean environment. */
export function planFor(limit, node = process.execPath) {
  const out = execFileSync(node, [join(root, 'dist', 'cli.js'), 'memory', 'plan', '--json'], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', JOBMANAGER_CONTAINER_MEMORY_LIMIT: limit },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return JSON.parse(out);
}

const m = (bytes) => String(bytes / MiB);

export function memoryTable(limits = DEFAULT_LIMITS) {
  const header = [
    '| limit | overhead | off-heap | network (segments) | heap | semi-space | young gen | old gen | cache | node flags |',
    '|---|--:|--:|--:|--:|--:|--:|--:|--:|---|',
  ];
  const rows = limits.map((limit) => {
    const p = planFor(limit);
    const warn = p.warnings.length > 0 ? ' (w)' : '';
    return `| ${limit}${warn} | ${m(p.overhead)} | ${m(p.offHeap)} | ${m(p.network)} (${p.networkSegments}) | ${m(p.heap)} | ${m(p.semiSpace)} | ${m(p.youngGeneration)} | ${m(p.oldGeneration)} | ${m(p.cache)} | \`${p.flags.join(' ')}\` |`;
  });
  return [...header, ...rows].join('\n');
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const limits = process.argv.slice(2);
  console.log(memoryTable(limits.length > 0 ? limits : DEFAULT_LIMITS));
}
