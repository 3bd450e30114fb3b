// Load generator for the RPC benches, run in a worker thread so client and
// server do not share one event loop: `requests` requests with `concurrency`
// in flight over one undici Pool (keep-alive). Posts {ms, errors, statuses}.
import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';

const { origin, requests, concurrency, method, path, headers, body } = workerData;
const pool = new Pool(origin, { connections: concurrency, pipelining: 1 });
const statuses = {};
let errors = 0;
let sent = 0;

async function lane() {
  while (sent < requests) {
    sent++;
    const p = typeof path === 'function' ? path(sent) : path;
    try {
      const res = await pool.request({ method, path: p, headers, body });
      await res.body.dump();
      statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
    } catch {
      errors++;
    }
  }
}

const t0 = performance.now();
await Promise.all(Array.from({ length: concurrency }, lane));
const ms = performance.now() - t0;
await pool.close();
parentPort.postMessage({ ms, errors, statuses });
