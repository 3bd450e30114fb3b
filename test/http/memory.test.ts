import t from 'tap';
import Fastify, { type FastifyError } from 'fastify';
import { createRequire } from 'node:module';
import { installPooledJsonBodies, metricsRest, registerPressureShedding } from '../../app/http/memory.js';
import { answerForCarriedError, answerForFastifyError } from '../../app/http/rpc/errors.js';
import { NetworkBufferPool } from '../../app/memory/buffer-pool.js';
import { createMemoryRuntime } from '../../app/memory/runtime.js';
import type { MemoryPlan } from '../../app/memory/plan.js';

const parseProm = createRequire(import.meta.url)('parse-prometheus-text-format') as (text: string) => { name: string }[];
const MiB = 1024 * 1024;

function rpcLikeServer(pool: NetworkBufferPool) {
  const app = Fastify();
  installPooledJsonBodies(app, { pool, maxBodyBytes: 1 * MiB, priorityRoutes: ['/v1/taskmanagers/:taskManagerId/heartbeat'] });
  app.setErrorHandler((error: FastifyError, _request, reply) => {
    const answer = answerForFastifyError(error, 1 * MiB, 'jobmanager.rpc.max-body-size') ?? answerForCarriedError(error);
    if (answer) return reply.code(answer.statusCode).headers(answer.headers ?? {}).send({ errors: answer.errors });
    return reply.code(500).send({ errors: [String(error)] });
  });
  const seen: unknown[] = [];
  app.post('/v1/tasks/states', async (request) => {
    seen.push(request.body);
    return { ok: true, inUseDuringHandler: pool.stats().segmentsInUse };
  });
  app.post('/v1/taskmanagers/:taskManagerId/heartbeat', async () => ({ accepted: true }));
  return { app, seen };
}

t.test('RPC bodies are read into pool segments and released after parsing', async (t) => {
  const pool = new NetworkBufferPool({ totalBytes: 64 * 4096, segmentBytes: 4096, reservedSegments: 8 });
  const { app, seen } = rpcLikeServer(pool);
  t.teardown(() => app.close());
  const body = { updates: Array.from({ length: 300 }, (_, i) => ({ jobId: 'a'.repeat(32), executionAttemptId: i.toString(16).padStart(32, '0'), state: 'RUNNING' })) };
  const res = await app.inject({ method: 'POST', url: '/v1/tasks/states', payload: body });
  t.equal(res.statusCode, 200);
  t.same(seen[0], body);
  t.equal(res.json().inUseDuringHandler, 0, 'segments are released once the JSON is parsed');
  t.equal(pool.stats().acquisitions, 1, 'one acquisition for a body with Content-Length');

  const bad = await app.inject({ method: 'POST', url: '/v1/tasks/states', headers: { 'content-type': 'application/json' }, payload: '{"x": ' });
  t.equal(bad.statusCode, 400);
  t.match(bad.json().errors[0], /not valid JSON/);
  const proto = await app.inject({ method: 'POST', url: '/v1/tasks/states', headers: { 'content-type': 'application/json' }, payload: '{"__proto__": {"x": 1}}' });
  t.equal(proto.statusCode, 400, 'prototype poisoning refused as by the default parser');
  const big = await app.inject({ method: 'POST', url: '/v1/tasks/states', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ x: 'y'.repeat(2 * MiB) }) });
  t.equal(big.statusCode, 413);
  t.equal(pool.stats().segmentsInUse, 0, 'nothing leaked by failed requests');
});

t.test('an exhausted pool answers bulk RPC with 503 + Retry-After while heartbeats use the reserve', async (t) => {
  const pool = new NetworkBufferPool({ totalBytes: 32 * 4096, segmentBytes: 4096, reservedSegments: 4, maxWaitMs: 50 });
  const { app } = rpcLikeServer(pool);
  // The pool's wait timers are unref'd (a real server's sockets keep the process alive; inject has none).
  const keepAlive = setInterval(() => {}, 1000);
  t.teardown(() => {
    clearInterval(keepAlive);
    return app.close();
  });
  const hog = pool.tryAcquire(28, 'bulk')!;
  const res = await app.inject({ method: 'POST', url: '/v1/tasks/states', payload: { updates: [] } });
  t.equal(res.statusCode, 503);
  t.equal(res.headers['retry-after'], '1');
  t.match(res.json().errors[0], /network buffer pool exhausted/);
  for (let i = 0; i < 20; i++) {
    const hb = await app.inject({ method: 'POST', url: '/v1/taskmanagers/tm-1/heartbeat', payload: { registrationId: 'x', slotReport: { slots: [] } } });
    t.equal(hb.statusCode, 200, `heartbeat ${i} served from the reserved share`);
  }
  hog.release();
  const after = await app.inject({ method: 'POST', url: '/v1/tasks/states', payload: { updates: [] } });
  t.equal(after.statusCode, 200);
  t.ok(pool.stats().rejections >= 1);
});

t.test('REST: shedding with the runtime options, /metrics exempt and parseable', async (t) => {
  const plan: MemoryPlan = {
    processBytes: 1024 * MiB * 1024,
    overheadBytes: 80 * MiB,
    offHeapBytes: 32 * MiB,
    networkBytes: 1 * MiB,
    networkSegmentBytes: 32 * 1024,
    networkSegments: 32,
    heapBytes: 48 * MiB,
    semiSpaceBytes: 1 * MiB,
    youngGenerationBytes: 3 * MiB,
    oldGenerationBytes: 1 * MiB, // any real heap is over 90% of this: always under pressure
    cacheBytes: 1 * MiB,
    nodeFlags: [],
    warnings: [],
  };
  const runtime = createMemoryRuntime(plan, { defaultMetrics: false });
  const rest = Fastify();
  await registerPressureShedding(rest, { underPressure: { ...runtime.underPressure, sampleInterval: 100 } });
  await rest.register(metricsRest, { runtime });
  rest.get('/jobs', async () => ({ jobs: [] }));
  t.teardown(async () => {
    await rest.close();
    runtime.close();
  });
  await rest.ready();
  let res = await rest.inject('/jobs');
  for (let i = 0; i < 100 && res.statusCode !== 503; i++) {
    await new Promise((r) => setTimeout(r, 20));
    res = await rest.inject('/jobs');
  }
  t.equal(res.statusCode, 503);
  t.ok(res.headers['retry-after']);
  t.match(res.json().errors[0], /under memory pressure/);
  const metrics = await rest.inject('/metrics');
  t.equal(metrics.statusCode, 200, '/metrics answers under pressure');
  t.match(metrics.headers['content-type'], /text\/plain/);
  const names = parseProm(metrics.body).map((f) => f.name);
  t.ok(names.includes('jobmanager_memory_planned_bytes'));
  t.ok(names.includes('jobmanager_shed_requests_total'));
  t.match(metrics.body, /jobmanager_shed_requests_total\{reason="heapUsedBytes"\} [1-9]/);
});
