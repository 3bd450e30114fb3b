import t from 'tap';
import Fastify from 'fastify';
import { createRequire } from 'node:module';
import { metricsRest, registerPressureShedding } from '../../app/http/memory.js';
import { createMemoryRuntime } from '../../app/memory/runtime.js';
import type { MemoryPlan } from '../../app/memory/plan.js';

const parseProm = createRequire(import.meta.url)('parse-prometheus-text-format') as (text: string) => { name: string }[];
const MiB = 1024 * 1024;

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
