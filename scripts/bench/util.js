// Shared helpers for benchmark modules.
import { performance } from 'node:perf_hooks';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Imports a module of the built code, e.g. dist('jobs/dispatcher.js'). */
export function dist(path) {
  return import(pathToFileURL(join(root, 'dist', path)).href);
}

export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function gc() {
  if (typeof globalThis.gc !== 'function') throw new Error('run with --expose-gc (scripts/bench/run.js does)');
  for (let i = 0; i < 3; i++) globalThis.gc();
}

/** V8 heap plus ArrayBuffer backing stores (typed arrays live there). */
export function usedBytes() {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

export async function timeMs(fn) {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

export const MiB = 1024 * 1024;

/** The 2 x 10,000 all-to-all job of the anchors. */
export const WIDE_JOB = {
  name: 'wide 2 x 10000 all-to-all',
  vertices: [
    { id: 'source', name: 'Source', parallelism: 10_000, maxParallelism: 16_384 },
    { id: 'sink', name: 'Sink', parallelism: 10_000, maxParallelism: 16_384 },
  ],
  edges: [{ source: 'source', target: 'sink', distribution: 'ALL_TO_ALL' }],
  restartStrategy: { type: 'none' },
};

export const fmt = (n, digits = 1) => Number(n.toFixed(digits));
