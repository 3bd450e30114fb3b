import t from 'tap';
import { createRequire } from 'node:module';
import { createMemoryMetrics, MEMORY_COMPONENTS, componentUsage, sampleMemory } from '../../app/memory/metrics.js';
import { flinkGauges } from '../../app/memory/flink-metrics.js';
import { NetworkBufferPool } from '../../app/memory/buffer-pool.js';
import { createCoordinationCaches } from '../../app/memory/caches.js';
import { AdmissionController } from '../../app/memory/admission.js';
import type { MemoryPlan } from '../../app/memory/plan.js';
import { PLAN_256 } from '../helpers/plans.js';

interface PromSample {
  labels?: Record<string, string>;
  value?: string;
  count?: string;
  sum?: string;
  buckets?: Record<string, string>;
}
interface PromFamily {
  name: string;
  help: string;
  type: string;
  metrics: PromSample[];
}
const parsePrometheusTextFormat = createRequire(import.meta.url)('parse-prometheus-text-format') as (text: string) => PromFamily[];

const MiB = 1024 * 1024;
// The default plan for a 256 MiB container (memory-model.md derivation).
const plan: MemoryPlan = PLAN_256;

function build() {
  const pool = new NetworkBufferPool({ totalBytes: plan.networkBytes, segmentBytes: plan.networkSegmentBytes });
  const caches = createCoordinationCaches<object, object>(64 * 1024 * 2);
  const admission = new AdmissionController(1 * MiB);
  const sources = { plan, pool: () => pool.stats(), caches: () => caches.stats(), admission: () => admission.stats() };
  const metrics = createMemoryMetrics(sources);
  return { pool, caches, admission, metrics, sources };
}

t.test('/metrics text parses and carries every plan component with planned and used bytes', async (t) => {
  const { pool, caches, admission, metrics } = build();
  const lease = pool.tryAcquire(3, 'bulk')!;
  for (let i = 0; i < 2000; i++) caches.archivedJobs.set(`j${i}`, { jid: `j${i}`, name: 'x'.repeat(100) });
  t.throws(() => admission.admitJob('big', { jobVertices: 1, subtasks: 1_000_000, jobEdges: 0, retainedCheckpoints: 0, concurrentCheckpoints: 0 }));
  metrics.recordShed('heapUsedBytes');

  const text = await metrics.metricsText();
  const families = parsePrometheusTextFormat(text);
  const byName = new Map(families.map((f) => [f.name, f]));

  const planned = byName.get('jobmanager_memory_planned_bytes');
  const used = byName.get('jobmanager_memory_used_bytes');
  t.ok(planned && used, 'both per-component gauges present');
  t.equal(planned!.type, 'GAUGE');
  for (const component of MEMORY_COMPONENTS) {
    const p = planned!.metrics.find((m) => m.labels?.component === component);
    const u = used!.metrics.find((m) => m.labels?.component === component);
    t.ok(p, `planned ${component}`);
    t.ok(u, `used ${component}`);
    const field = `${component}Bytes` as keyof MemoryPlan;
    t.equal(Number(p?.value), plan[field], `planned ${component} equals the plan`);
    t.ok(Number(u?.value) >= 0, `used ${component} is a number`);
  }
  t.equal(Number(used!.metrics.find((m) => m.labels?.component === 'network')?.value), 3 * 32 * 1024, 'network used = leased segments');
  t.ok(Number(used!.metrics.find((m) => m.labels?.component === 'process')?.value) > 10 * MiB, 'process used = RSS');
  t.ok(Number(used!.metrics.find((m) => m.labels?.component === 'cache')?.value) > 0);

  const value = (name: string, labels: Record<string, string> = {}) => {
    const f = byName.get(name);
    const m = f?.metrics.find((x) => Object.entries(labels).every(([k, v]) => x.labels?.[k] === v));
    return m ? Number(m.value) : undefined;
  };
  t.equal(value('jobmanager_network_segments_total'), 512);
  t.equal(value('jobmanager_network_segments_available'), 509);
  t.equal(value('jobmanager_network_segments_reserved'), pool.reservedSegments);
  t.equal(byName.get('jobmanager_network_buffer_rejections_total')?.type, 'COUNTER');
  t.ok(value('jobmanager_cache_evictions_total', { cache: 'archived-jobs' })! > 0, 'evictions exported');
  t.ok(value('jobmanager_cache_entries', { cache: 'archived-jobs' })! > 0);
  t.equal(value('jobmanager_cache_budget_bytes', { cache: 'checkpoint-stats' }), caches.checkpointStats.maxBytes);
  t.equal(value('jobmanager_admission_rejections_total'), 1);
  t.equal(value('jobmanager_shed_requests_total', { reason: 'heapUsedBytes' }), 1);
  t.ok(byName.has('nodejs_gc_duration_seconds'), 'default Node.js metrics incl. GC');
  t.ok(byName.has('process_resident_memory_bytes'));
  lease.release();
});

t.test('Flink-style metric ids', async (t) => {
  const { metrics, sources } = build();
  // Make sure at least one GC has been observed.
  const junk: unknown[] = [];
  for (let i = 0; i < 200_000; i++) junk.push({ i });
  junk.length = 0;
  await new Promise((r) => setTimeout(r, 20));
  // The ids /jobmanager/metrics serves, GC figures read from the registry's default metrics.
  const ids = new Map<string, string>();
  for (const [id, gauge] of flinkGauges(sources, metrics.registry)) ids.set(id, String(await gauge()));
  for (const id of [
    'Status.JVM.Memory.Heap.Used',
    'Status.JVM.Memory.Heap.Committed',
    'Status.JVM.Memory.Heap.Max',
    'Status.JVM.Memory.NonHeap.Used',
    'Status.JVM.Memory.Direct.MemoryUsed',
    'Status.JVM.Memory.Direct.TotalCapacity',
    'Status.Network.TotalMemorySegments',
    'Status.Network.AvailableMemorySegments',
    'Status.JobManager.Memory.OldGeneration.Planned',
    'Status.JobManager.Memory.Network.Used',
    'Status.JobManager.Cache.ArchivedJobs.Evictions',
  ]) {
    t.ok(ids.has(id), id);
    t.match(ids.get(id), /^\d+$/, `${id} is an integer string`);
  }
  t.equal(ids.get('Status.Network.TotalMemorySegments'), '512');
  t.equal(ids.get('Status.JobManager.Memory.OldGeneration.Planned'), String(plan.oldGenerationBytes));
  t.ok([...ids.keys()].some((k) => /^Status\.JVM\.GarbageCollector\.\w+\.Count$/.test(k)), 'GC counts per kind');
});

t.test('componentUsage derives each component from one reading', async (t) => {
  const s = sampleMemory();
  const rows = componentUsage(plan, s);
  t.same(
    rows.map((r) => r.component),
    [...MEMORY_COMPONENTS],
  );
  const heap = rows.find((r) => r.component === 'heap')!;
  const young = rows.find((r) => r.component === 'youngGeneration')!;
  const old = rows.find((r) => r.component === 'oldGeneration')!;
  t.equal(young.usedBytes + old.usedBytes, heap.usedBytes, 'young + old = heap used');
  t.ok(rows.every((r) => r.measuredAs.length > 0));
});
