// The memory runtime as the composition root wires it: /metrics parses as
// Prometheus text with every plan component planned and used, /jobmanager/memory
// shows each component's budget next to its use, admission refuses a job that
// does not fit with 503 naming the numbers and the setting, archived jobs are
// evicted within the cache budget and a lookup names the eviction.
import t from 'tap';
import { createRequire } from 'node:module';
import { buildTestJobManager } from '../helpers/jobmanager.js';
import { MEMORY_COMPONENTS } from '../../app/memory/metrics.js';
import type { MemoryPlan } from '../../app/memory/plan.js';

interface PromFamily {
  name: string;
  type: string;
  metrics: { labels?: Record<string, string>; value?: string }[];
}
const parseProm = createRequire(import.meta.url)('parse-prometheus-text-format') as (text: string) => PromFamily[];

const chain = (name: string, vertices: number, parallelism: number) => ({
  name,
  vertices: Array.from({ length: vertices }, (_, i) => ({ id: `v${i}`, name: `${name}-${i}`, parallelism })),
  edges: Array.from({ length: vertices - 1 }, (_, i) => ({ source: `v${i}`, target: `v${i + 1}`, distribution: 'POINTWISE' })),
});

t.test('GET /metrics: every plan component with planned and used bytes', async (t) => {
  const { jobManager, plan } = await buildTestJobManager(t.teardown, { argv: ['--jobmanager.process.memory.size=256m'] });
  await jobManager.start({ listen: false });
  const res = await jobManager.rest.inject('/metrics');
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /^text\/plain; version=0\.0\.4/);
  const families = new Map(parseProm(res.body).map((f) => [f.name, f]));
  for (const component of MEMORY_COMPONENTS) {
    const planned = families.get('jobmanager_memory_planned_bytes')?.metrics.find((m) => m.labels?.component === component);
    const used = families.get('jobmanager_memory_used_bytes')?.metrics.find((m) => m.labels?.component === component);
    t.equal(Number(planned?.value), plan[`${component}Bytes` as keyof MemoryPlan], `${component}: planned = plan`);
    t.ok(used !== undefined && Number.isFinite(Number(used.value)), `${component}: used present`);
  }
  t.equal(Number(families.get('jobmanager_network_segments_total')?.metrics[0]?.value), plan.networkSegments);
  t.ok(families.has('nodejs_gc_duration_seconds'));

  const mem = await jobManager.rest.inject('/jobmanager/memory');
  const body = mem.json() as { components: { component: string; plannedBytes: number; usedBytes: number }[]; runtime: { networkBuffers: { totalSegments: number }; admission: { budgetBytes: number } } };
  t.same(body.components.map((c) => c.component), [...MEMORY_COMPONENTS]);
  t.equal(body.runtime.networkBuffers.totalSegments, plan.networkSegments);
  t.ok(body.runtime.admission.budgetBytes > 0);

  const flink = await jobManager.rest.inject('/jobmanager/metrics?get=Status.Network.TotalMemorySegments,Status.JobManager.Memory.OldGeneration.Planned');
  t.same(flink.json(), [
    { id: 'Status.Network.TotalMemorySegments', value: String(plan.networkSegments) },
    { id: 'Status.JobManager.Memory.OldGeneration.Planned', value: String(plan.oldGenerationBytes) },
  ]);
});

t.test('admission: a job that does not fit gets 503 naming the estimate, what is free and the setting', async (t) => {
  const { jobManager } = await buildTestJobManager(t.teardown, { argv: ['--jobmanager.process.memory.size=192m'] });
  await jobManager.start({ listen: false });
  // 8 x 20,000 subtasks: estimated ~40 MiB, far above a 192m plan's live budget.
  const res = await jobManager.rest.inject({ method: 'POST', url: '/jobs', payload: chain('too-big', 8, 20_000) });
  t.equal(res.statusCode, 503);
  t.ok(res.headers['retry-after']);
  const msg = (res.json() as { errors: string[] }).errors[0];
  t.match(msg, /Job 'too-big' was not admitted: its estimated live footprint is [\d.]+mb \(160000 subtasks/);
  t.match(msg, /of the [\d.]+mb live-coordination budget is free/);
  t.match(msg, /jobmanager\.process\.memory\.size/);
  const small = await jobManager.rest.inject({ method: 'POST', url: '/jobs', payload: chain('small', 2, 2) });
  t.equal(small.statusCode, 202, 'a job that fits is admitted');
  const metrics = await jobManager.rest.inject('/metrics');
  t.match(metrics.body, /^jobmanager_admission_rejections_total 1$/m);
});

t.test('archived jobs are evicted within the cache budget; the REST 404 names the eviction', async (t) => {
  const { jobManager, plan } = await buildTestJobManager(t.teardown, { argv: ['--jobmanager.process.memory.size=192m', '--jobmanager.cache.memory.fraction=0.01'] });
  await jobManager.start({ listen: false });
  t.ok(plan.cacheBytes <= 1024 * 1024, `tiny cache budget (${plan.cacheBytes} bytes)`);
  const ids: string[] = [];
  for (let i = 0; i < 40; i++) {
    const res = await jobManager.rest.inject({ method: 'POST', url: '/jobs', payload: chain(`wide-${i}`, 20, 1) });
    t.equal(res.statusCode, 202);
    const id = (res.json() as { jobid: string }).jobid;
    ids.push(id);
    const cancel = await jobManager.rest.inject({ method: 'PATCH', url: `/jobs/${id}?mode=cancel` });
    t.equal(cancel.statusCode, 202);
    if (!t.passing()) break;
  }
  const metrics = await jobManager.rest.inject('/metrics');
  const evictions = Number(/^jobmanager_cache_evictions_total\{cache="archived-jobs"\} (\d+)$/m.exec(metrics.body)?.[1]);
  t.ok(evictions > 0, `evictions: ${evictions}`);
  const first = await jobManager.rest.inject(`/jobs/${ids[0]}`);
  t.equal(first.statusCode, 404);
  t.match((first.json() as { errors: string[] }).errors[0], new RegExp(`Job ${ids[0]} not found: job ${ids[0]} was evicted from the archived-jobs cache at .* budget`));
  const last = await jobManager.rest.inject(`/jobs/${ids[ids.length - 1]}`);
  t.equal(last.statusCode, 200, 'the most recent archived job is still there');
  const unknown = await jobManager.rest.inject(`/jobs/${'0'.repeat(32)}`);
  t.equal(unknown.statusCode, 404);
  t.match((unknown.json() as { errors: string[] }).errors[0], /^Job 0{32} not found$/);
});
