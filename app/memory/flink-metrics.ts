// The one source of the Flink-style metric ids served by GET /jobmanager/metrics
// (app/http/rest/metrics-flink.ts only adapts them; docs/rest-api.md has the
// table). Flink's JVM ids are mapped to their Node.js counterparts:
//   Status.JVM.Memory.Heap.*        V8 heap (used / committed / heap_size_limit)
//   Status.JVM.Memory.NonHeap.*     process memory outside the V8 heap and outside
//                                   external memory (rss - heap committed - external)
//   Status.JVM.Memory.Metaspace.*   V8 code space (compiled code, the closest analogue)
//   Status.JVM.Memory.Direct.*      ArrayBuffers/Buffers (off-heap) and V8 external memory
//   Status.JVM.CPU.Time / Load      process CPU time (ns) / share of all cores since the previous read
//   Status.JVM.GarbageCollector.<Scavenge|MarkSweepCompact|IncrementalMarking|WeakCallbacks>.Count/Time
// plus the memory plan's own ids (Status.Network.*, Status.JobManager.*).
// (Status.JVM.Threads.Count comes from the environment, so the REST adapter adds it.)
// Values are read when asked for, so nothing runs between requests.
import { availableParallelism } from 'node:os';
import { getHeapSpaceStatistics, getHeapStatistics } from 'node:v8';
import type { Histogram, Registry } from 'prom-client';
import { MEMORY_COMPONENTS, componentUsage, sampleMemory, type MemoryMetricSources } from './metrics.js';

/** One metric's current value; GC figures come from prom-client's histogram, which is read asynchronously. */
export type FlinkGauge = () => number | Promise<number>;

/** prom-client's `kind` label of nodejs_gc_duration_seconds -> Flink's collector name. */
const GC_COLLECTORS: Readonly<Record<string, string>> = {
  minor: 'Scavenge',
  major: 'MarkSweepCompact',
  incremental: 'IncrementalMarking',
  weakcb: 'WeakCallbacks',
};

/** Share of all cores used by this process between two reads (Flink: getProcessCpuLoad). */
function cpuLoadGauge(): FlinkGauge {
  let last = { at: process.hrtime.bigint(), usage: process.cpuUsage() };
  const cores = availableParallelism();
  return () => {
    const now = { at: process.hrtime.bigint(), usage: process.cpuUsage() };
    const elapsedUs = Number(now.at - last.at) / 1000;
    const usedUs = now.usage.user + now.usage.system - last.usage.user - last.usage.system;
    last = now;
    return elapsedUs > 0 ? Math.min(1, usedUs / (elapsedUs * cores)) : 0;
  };
}

/**
 * GC counts and total pause (ms) per collector, read from prom-client's
 * nodejs_gc_duration_seconds (collectDefaultMetrics) in `registry`. Every
 * collector is listed; without that histogram (no registry, or default
 * metrics off) the values are 0.
 */
function gcGauges(registry: Registry | undefined): Map<string, FlinkGauge> {
  const read = async (collector: string, what: 'count' | 'sum'): Promise<number> => {
    const histogram = registry?.getSingleMetric('nodejs_gc_duration_seconds') as Histogram<'kind'> | undefined;
    if (histogram === undefined) return 0;
    const metricName = `nodejs_gc_duration_seconds_${what}`;
    for (const v of (await histogram.get()).values) {
      if (v.metricName === metricName && GC_COLLECTORS[String(v.labels.kind)] === collector) return v.value;
    }
    return 0;
  };
  const gauges = new Map<string, FlinkGauge>();
  for (const collector of Object.values(GC_COLLECTORS)) {
    gauges.set(`Status.JVM.GarbageCollector.${collector}.Count`, () => read(collector, 'count'));
    gauges.set(`Status.JVM.GarbageCollector.${collector}.Time`, async () => Math.round((await read(collector, 'sum')) * 1000));
  }
  return gauges;
}

/** Flink's JVM ids (Status.JVM.*) and Status.Process.Memory.RSS; GC figures from `registry`'s default metrics. */
export function flinkJvmGauges(registry?: Registry): Map<string, FlinkGauge> {
  const codeSpace = () => getHeapSpaceStatistics().find((s) => s.space_name === 'code_space');
  // JVM non-heap excludes direct buffers (Direct.* below), so external memory is left out too; this is the plan's overhead component.
  const nonHeap = () => {
    const m = process.memoryUsage();
    return Math.max(0, m.rss - m.heapTotal - m.external);
  };
  const gauges = new Map<string, FlinkGauge>([
    ['Status.JVM.Memory.Heap.Used', () => getHeapStatistics().used_heap_size],
    ['Status.JVM.Memory.Heap.Committed', () => getHeapStatistics().total_heap_size],
    ['Status.JVM.Memory.Heap.Max', () => getHeapStatistics().heap_size_limit],
    ['Status.JVM.Memory.NonHeap.Used', nonHeap],
    ['Status.JVM.Memory.NonHeap.Committed', nonHeap],
    ['Status.JVM.Memory.NonHeap.Max', () => -1],
    ['Status.JVM.Memory.Metaspace.Used', () => codeSpace()?.space_used_size ?? 0],
    ['Status.JVM.Memory.Metaspace.Committed', () => codeSpace()?.space_size ?? 0],
    ['Status.JVM.Memory.Metaspace.Max', () => -1],
    ['Status.JVM.Memory.Direct.MemoryUsed', () => process.memoryUsage().arrayBuffers],
    ['Status.JVM.Memory.Direct.TotalCapacity', () => process.memoryUsage().external],
    ['Status.JVM.CPU.Time', () => {
      const u = process.cpuUsage();
      return (u.user + u.system) * 1000;
    }],
    ['Status.JVM.CPU.Load', cpuLoadGauge()],
    ['Status.Process.Memory.RSS', () => process.memoryUsage.rss()],
  ]);
  for (const [id, gauge] of gcGauges(registry)) gauges.set(id, gauge);
  return gauges;
}

/**
 * The memory plan's ids: Status.Network.{Total,Available,Reserved}MemorySegments
 * (+ waits/rejections) and, per plan component,
 * Status.JobManager.Memory.<Component>.{Planned,Used}; admission and cache
 * figures under Status.JobManager.Admission.* / .Cache.*.
 */
export function flinkMemoryGauges(src: MemoryMetricSources): Map<string, FlinkGauge> {
  const sample = src.sample ?? sampleMemory;
  const pool = () => src.pool?.();
  const caches = () => src.caches?.() ?? [];
  const gauges = new Map<string, FlinkGauge>([
    ['Status.Network.TotalMemorySegments', () => pool()?.totalSegments ?? 0],
    ['Status.Network.AvailableMemorySegments', () => pool()?.availableSegments ?? 0],
    ['Status.Network.ReservedMemorySegments', () => pool()?.reservedSegments ?? 0],
    ['Status.Network.MemorySegmentWaits', () => pool()?.waits ?? 0],
    ['Status.Network.MemorySegmentRejections', () => pool()?.rejections ?? 0],
    ['Status.JobManager.Admission.BudgetBytes', () => src.admission?.()?.budgetBytes ?? 0],
    ['Status.JobManager.Admission.FreeBytes', () => src.admission?.()?.freeBytes ?? 0],
    ['Status.JobManager.Admission.Rejected', () => src.admission?.()?.rejected ?? 0],
  ]);
  const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
  for (const component of MEMORY_COMPONENTS) {
    const row = () => componentUsage(src.plan, sample(), pool(), caches()).find((c) => c.component === component);
    gauges.set(`Status.JobManager.Memory.${cap(component)}.Planned`, () => row()?.plannedBytes ?? 0);
    gauges.set(`Status.JobManager.Memory.${cap(component)}.Used`, () => row()?.usedBytes ?? 0);
  }
  for (const name of ['archived-jobs', 'checkpoint-stats']) {
    const id = name.replace(/(^|-)(\w)/g, (_m, _d, ch: string) => ch.toUpperCase());
    const stat = () => caches().find((c) => c.name === name);
    gauges.set(`Status.JobManager.Cache.${id}.Bytes`, () => stat()?.bytes ?? 0);
    gauges.set(`Status.JobManager.Cache.${id}.Entries`, () => stat()?.entries ?? 0);
    gauges.set(`Status.JobManager.Cache.${id}.Evictions`, () => (stat()?.evictions ?? 0) + (stat()?.rejectedTooLarge ?? 0));
  }
  return gauges;
}

/** Every Flink-style id the memory runtime serves: the JVM ids (GC from `registry`) and the plan's. */
export function flinkGauges(src: MemoryMetricSources, registry?: Registry): Map<string, FlinkGauge> {
  return new Map([...flinkJvmGauges(registry), ...flinkMemoryGauges(src)]);
}
