import t from 'tap';
import Fastify from 'fastify';
import { registerPressureShedding } from '../../app/http/memory.js';
import {
  describePressure,
  pressureThresholds,
  PRESSURE_EXEMPT_ROUTE_CONFIG,
  underPressureOptions,
} from '../../app/memory/pressure.js';

const MiB = 1024 * 1024;

t.test('thresholds follow the plan', async (t) => {
  const th = pressureThresholds({ oldGenerationBytes: 100 * MiB, processBytes: 192 * MiB });
  t.equal(th.maxHeapUsedBytes, 90 * MiB);
  t.equal(th.maxRssBytes, Math.floor(192 * MiB * 0.9));
  t.equal(th.maxEventLoopDelay, 1000);
  t.equal(th.retryAfter, 5);
  t.match(describePressure('heapUsedBytes', 95 * MiB, th), /heap used 95\.000mb exceeds 90\.000mb .*jobmanager\.process\.memory\.size/);
  t.match(describePressure('rssBytes', 180 * MiB, th), /resident memory 180\.000mb exceeds 172\.79\d+mb/);
  t.match(describePressure('eventLoopDelay', 1500.4, th), /event loop delay 1500 ms exceeds 1000 ms/);
});

t.test('REST requests are shed with 503 + Retry-After + errors; exempt routes and the RPC server answer', async (t) => {
  let shed = 0;
  // An old generation of 1 MiB: any real heap is "under pressure".
  const opts = underPressureOptions({ oldGenerationBytes: 1 * MiB, processBytes: 1024 * 1024 * MiB }, () => shed++, { sampleIntervalMs: 100, retryAfterSeconds: 7 });
  const rest = Fastify();
  await registerPressureShedding(rest, { underPressure: opts });
  rest.get('/jobs', async () => ({ jobs: [] }));
  rest.get('/special', { config: PRESSURE_EXEMPT_ROUTE_CONFIG }, async () => ({ status: 'ok' }));
  rest.get('/healthz', async () => ({ status: 'ok' }));
  rest.get('/metrics', async () => 'x 1\n');
  const rpc = Fastify(); // the RPC server never registers under-pressure
  rpc.post('/v1/heartbeat', async () => ({ ok: true }));
  t.teardown(async () => {
    await rest.close();
    await rpc.close();
  });
  await rest.ready();
  await rpc.ready();

  // Wait (bounded) for the plugin's first sample.
  let res = await rest.inject({ method: 'GET', url: '/jobs' });
  for (let i = 0; i < 200 && res.statusCode !== 503; i++) {
    await new Promise((r) => setTimeout(r, 10));
    res = await rest.inject({ method: 'GET', url: '/jobs' });
  }
  t.equal(res.statusCode, 503);
  t.equal(res.headers['retry-after'], '7');
  const body = res.json() as { errors: string[] };
  t.equal(body.errors.length, 1);
  t.match(body.errors[0], /heap used .* exceeds .*old generation/);
  t.ok(shed >= 1, 'shed requests counted');

  const special = await rest.inject({ method: 'GET', url: '/special' });
  t.equal(special.statusCode, 200, 'a route opting out answers under pressure');
  for (const url of ['/healthz', '/metrics', '/metrics?x=1']) {
    const res = await rest.inject({ method: 'GET', url });
    t.equal(res.statusCode, 200, `${url} (probe/observability path) answers under pressure`);
  }
  const hb = await rpc.inject({ method: 'POST', url: '/v1/heartbeat', payload: {} });
  t.equal(hb.statusCode, 200, 'RPC heartbeats are never shed');
});
