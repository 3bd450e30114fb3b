// GET /jobmanager/metrics in Flink's shape: without `get`, the available
// metric ids `[{id}]`; with `?get=a,b`, `[{id, value}]` (values as strings,
// as Flink does; unknown ids are left out, as Flink does). Flink's JVM metric
// ids are mapped to their Node.js equivalents (docs/rest-api.md has the table):
//   Status.JVM.Memory.Heap.*        V8 heap (used / committed / heap_size_limit)
//   Status.JVM.Memory.NonHeap.*     process memory outside the V8 heap (rss - heap committed)
//   Status.JVM.Memory.Metaspace.*   V8 code space (compiled code, the closest analogue)
//   Status.JVM.Memory.Direct.*      ArrayBuffers/Buffers (off-heap) and V8 external memory
//   Status.JVM.CPU.Time / Load      process CPU time (ns) / share of all cores since the previous read
//   Status.JVM.GarbageCollector.<Scavenge|MarkSweepCompact|IncrementalMarking|WeakCallbacks>.Count/Time
//   Status.JVM.Threads.Count        libuv threadpool size + the main thread
import { PerformanceObserver, constants as perfConstants, type PerformanceEntry } from 'node:perf_hooks';
import { availableParallelism } from 'node:os';
import { getHeapSpaceStatistics, getHeapStatistics } from 'node:v8';
import type { FastifyPluginAsync } from 'fastify';
import type { DispatcherApi } from '../../jobs/types.js';

export interface FlinkMetricsRestOptions {
  readonly dispatcher: Pick<DispatcherApi, 'overview'>;
  /** More ids, e.g. the memory runtime's Status.Network.*MemorySegments (app/memory/metrics.ts flinkMemoryGauges). */
  readonly extraGauges?: ReadonlyMap<string, () => number>;
}

type Gauge = () => number;

const GC_KINDS: Readonly<Record<number, string>> = {
  [perfConstants.NODE_PERFORMANCE_GC_MINOR]: 'Scavenge',
  [perfConstants.NODE_PERFORMANCE_GC_MAJOR]: 'MarkSweepCompact',
  [perfConstants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'IncrementalMarking',
  [perfConstants.NODE_PERFORMANCE_GC_WEAKCB]: 'WeakCallbacks',
};

/** GC counts and times (ms) since the plugin started, per collector. */
class GcStats {
  readonly count = new Map<string, number>(Object.values(GC_KINDS).map((n) => [n, 0]));
  readonly timeMs = new Map<string, number>(Object.values(GC_KINDS).map((n) => [n, 0]));
  private readonly observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries() as (PerformanceEntry & { detail?: { kind?: number } })[]) {
      const name = GC_KINDS[entry.detail?.kind ?? -1];
      if (name === undefined) continue;
      this.count.set(name, (this.count.get(name) ?? 0) + 1);
      this.timeMs.set(name, (this.timeMs.get(name) ?? 0) + entry.duration);
    }
  });
  constructor() {
    this.observer.observe({ entryTypes: ['gc'] });
  }
  close(): void {
    this.observer.disconnect();
  }
}

/** Share of all cores used by this process between two reads (Flink: getProcessCpuLoad). */
function cpuLoadGauge(): Gauge {
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

export function flinkMetricGauges(dispatcher: Pick<DispatcherApi, 'overview'>, gc: GcStats): Map<string, Gauge> {
  const codeSpace = () => getHeapSpaceStatistics().find((s) => s.space_name === 'code_space');
  const gauges = new Map<string, Gauge>([
    ['Status.JVM.Memory.Heap.Used', () => getHeapStatistics().used_heap_size],
    ['Status.JVM.Memory.Heap.Committed', () => getHeapStatistics().total_heap_size],
    ['Status.JVM.Memory.Heap.Max', () => getHeapStatistics().heap_size_limit],
    ['Status.JVM.Memory.NonHeap.Used', () => Math.max(0, process.memoryUsage.rss() - getHeapStatistics().total_heap_size)],
    ['Status.JVM.Memory.NonHeap.Committed', () => Math.max(0, process.memoryUsage.rss() - getHeapStatistics().total_heap_size)],
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
    ['Status.JVM.Threads.Count', () => Number(process.env.UV_THREADPOOL_SIZE ?? 4) + 1],
    ['Status.Process.Memory.RSS', () => process.memoryUsage.rss()],
    ['numRegisteredTaskManagers', () => dispatcher.overview().taskmanagers],
    ['numRunningJobs', () => dispatcher.overview()['jobs-running']],
    ['taskSlotsTotal', () => dispatcher.overview()['slots-total']],
    ['taskSlotsAvailable', () => dispatcher.overview()['slots-available']],
  ]);
  for (const name of gc.count.keys()) {
    gauges.set(`Status.JVM.GarbageCollector.${name}.Count`, () => gc.count.get(name) ?? 0);
    gauges.set(`Status.JVM.GarbageCollector.${name}.Time`, () => Math.round(gc.timeMs.get(name) ?? 0));
  }
  return gauges;
}

export const flinkMetricsRest: FastifyPluginAsync<FlinkMetricsRestOptions> = async (app, { dispatcher, extraGauges }) => {
  const gc = new GcStats();
  app.addHook('onClose', async () => gc.close());
  const gauges = flinkMetricGauges(dispatcher, gc);
  for (const [id, gauge] of extraGauges ?? []) gauges.set(id, gauge);

  app.get<{ Querystring: { get?: string } }>('/jobmanager/metrics', async (request) => {
    const get = request.query.get;
    if (get === undefined || get.trim() === '') return [...gauges.keys()].map((id) => ({ id }));
    const out: { id: string; value: string }[] = [];
    for (const id of new Set(get.split(',').map((s) => s.trim()))) {
      const gauge = gauges.get(id);
      if (gauge !== undefined) out.push({ id, value: String(gauge()) });
    }
    return out;
  });
};
