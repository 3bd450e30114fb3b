// Heartbeat RPC throughput over loopback (undici keep-alive client in a worker
// thread), side by side with a bare Fastify hello-world in the same process
// and run: the ratio says what auth + schema validation + the
// ResourceManager cost per request on this machine.
import { Worker } from 'node:worker_threads';
import { dist, fmt, median } from './util.js';

export const meta = {
  id: 'rpc-heartbeat-throughput',
  title: 'Heartbeat RPC throughput vs bare Fastify hello-world (loopback, same run)',
  anchor: 'a bare Fastify hello-world on the same machine in the same run (the ratio is the figure that travels between machines).',
};

const REQUESTS = 20_000;
const CONCURRENCY = 32;
const TASK_MANAGERS = 100;
const SLOTS = 8;
const TOKEN = 'bench-token-0123456789abcdef';

function load(origin, request) {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./rpc-load-worker.js', import.meta.url), {
      workerData: { origin, requests: REQUESTS, concurrency: CONCURRENCY, ...request },
    });
    worker.once('message', resolve);
    worker.once('error', reject);
  });
}

export async function run() {
  const { default: Fastify } = await import('fastify');
  const { buildRpcServer } = await dist('http/rpc/server.js');
  const { heartbeatPath } = await dist('http/rpc/protocol.js');
  const { ResourceManager } = await dist('cluster/resource-manager.js');
  const { systemClock } = await dist('cluster/clock.js');
  const { NetworkBufferPool } = await dist('memory/buffer-pool.js');

  const rm = new ResourceManager(systemClock, { heartbeatIntervalMs: 10_000, heartbeatTimeoutMs: 50_000 });
  const rpc = buildRpcServer({
    token: TOKEN,
    maxBodyBytes: 16 * 1024 * 1024,
    resourceManager: rm,
    dispatcher: { updateTaskExecutionStates: (u) => u.map(() => ({ applied: true })) },
  });
  await rpc.listen({ host: '127.0.0.1', port: 0 });
  // As the JobManager runs it: bodies read into the network buffer pool of
  // the default 1g plan (46 MiB of 32 KiB segments).
  const pooled = buildRpcServer({
    token: TOKEN,
    maxBodyBytes: 16 * 1024 * 1024,
    resourceManager: rm,
    dispatcher: { updateTaskExecutionStates: (u) => u.map(() => ({ applied: true })) },
    networkBuffers: new NetworkBufferPool({ totalBytes: 46 * 1024 * 1024, segmentBytes: 32 * 1024 }),
  });
  await pooled.listen({ host: '127.0.0.1', port: 0 });
  const hello = Fastify();
  hello.get('/', async () => ({ hello: 'world' }));
  // The same body through bare Fastify (JSON parse, no auth, no schema): separates HTTP+JSON cost from ours.
  hello.post('/echo', async () => ({ accepted: true }));
  await hello.listen({ host: '127.0.0.1', port: 0 });

  // One heartbeat body per TaskManager; the load worker cycles through them
  // by path, so every request is a valid heartbeat of a registered TaskManager.
  const registrations = [];
  for (let i = 0; i < TASK_MANAGERS; i++) {
    const { registrationId } = rm.registerTaskManager({ taskManagerId: `tm-${i}`, rpcAddress: `http://127.0.0.1:${40000 + i}`, numberOfSlots: SLOTS, resources: {} });
    registrations.push(registrationId);
  }
  const slotReport = { slots: Array.from({ length: SLOTS }, (_, s) => (s % 2 === 0 ? { slotIndex: s } : { slotIndex: s, allocationId: 'a'.repeat(32), jobId: 'b'.repeat(32) })) };
  // A single TaskManager's heartbeat is enough for throughput: same size, same work.
  const body = JSON.stringify({ registrationId: registrations[0], slotReport });

  const rpcOrigin = `http://127.0.0.1:${rpc.server.address().port}`;
  const pooledOrigin = `http://127.0.0.1:${pooled.server.address().port}`;
  const helloOrigin = `http://127.0.0.1:${hello.server.address().port}`;
  const heartbeatReq = { method: 'POST', path: heartbeatPath('tm-0'), headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body };
  const helloReq = { method: 'GET', path: '/', headers: {} };
  const postReq = { method: 'POST', path: '/echo', headers: { 'content-type': 'application/json' }, body };

  const RUNS = 5;
  const hb = [];
  const hw = [];
  const hp = [];
  const hbPool = [];
  let bad = 0;
  await load(rpcOrigin, heartbeatReq); // warm-up
  await load(pooledOrigin, heartbeatReq);
  await load(helloOrigin, helloReq);
  for (let i = 0; i < RUNS; i++) {
    // Interleaved so drift on a shared machine hits both alike.
    const a = await load(rpcOrigin, heartbeatReq);
    const b = await load(helloOrigin, helloReq);
    const c = await load(helloOrigin, postReq);
    const d = await load(pooledOrigin, heartbeatReq);
    for (const r of [a, b, c, d]) bad += r.errors + REQUESTS - (r.statuses[200] ?? 0);
    hbPool.push((REQUESTS / d.ms) * 1000);
    hb.push((REQUESTS / a.ms) * 1000);
    hw.push((REQUESTS / b.ms) * 1000);
    hp.push((REQUESTS / c.ms) * 1000);
  }
  await rpc.close();
  await pooled.close();
  await hello.close();
  const heartbeatRate = median(hb);
  const helloRate = median(hw);
  return {
    rows: [
      { metric: 'heartbeat RPC (auth + schema + ResourceManager), median', value: Math.round(heartbeatRate), unit: 'req/s' },
      { metric: 'heartbeat RPC with bodies read into the network buffer pool (as deployed), median', value: Math.round(median(hbPool)), unit: 'req/s' },
      { metric: 'ratio heartbeat with buffer pool / hello-world', value: fmt(median(hbPool) / helloRate, 2), unit: '' },
      { metric: 'bare Fastify hello-world GET, median', value: Math.round(helloRate), unit: 'req/s' },
      { metric: 'ratio heartbeat / hello-world', value: fmt(heartbeatRate / helloRate, 2), unit: '' },
      { metric: 'bare Fastify POST of the same heartbeat body (JSON parse only), median', value: Math.round(median(hp)), unit: 'req/s' },
      { metric: 'ratio heartbeat / bare POST', value: fmt(heartbeatRate / median(hp), 2), unit: '' },
      { metric: 'heartbeats per second needed by 1,000 TaskManagers at heartbeat.interval 10 s', value: 100, unit: 'req/s' },
      { metric: 'non-200 answers or errors', value: bad, unit: '' },
    ],
    notes: [
      `${RUNS} interleaved runs of ${REQUESTS} requests each (after a warm-up), ${CONCURRENCY} in flight over keep-alive connections; the undici client runs in a worker thread of the same process. ` +
        `Heartbeat body: a registration id and a ${SLOTS}-slot report (${body.length} bytes), bearer token checked in constant time, JSON Schema validated.`,
    ],
  };
}
