// Memory observability: a prom-client registry with Node's default metrics
// (incl. GC), every plan component's planned and used bytes, the network
// buffer pool, the coordination caches, admission control and shed requests;
// and a per-component table for /jobmanager/memory (the Flink-style ids for
// /jobmanager/metrics are in flink-metrics.ts). Values are read when scraped
// (collect callbacks), so nothing runs between scrapes.
import v8 from 'node:v8';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { MemoryPlan } from './plan.js';
import type { BufferPoolStats } from './buffer-pool.js';
import type { CacheStats } from './caches.js';
import type { AdmissionStats } from './admission.js';

/** The plan's components, named as the plan's fields without "Bytes". */
export const MEMORY_COMPONENTS = [
  'process',
  'overhead',
  'offHeap',
  'network',
  'heap',
  'semiSpace',
  'youngGeneration',
  'oldGeneration',
  'cache',
] as const;
export type MemoryComponent = (typeof MEMORY_COMPONENTS)[number];

export interface MemorySample {
  readonly rssBytes: number;
  readonly heapTotalBytes: number;
  readonly heapUsedBytes: number;
  readonly heapLimitBytes: number;
  readonly externalBytes: number;
  readonly arrayBuffersBytes: number;
  readonly newSpaceUsedBytes: number;
  readonly youngUsedBytes: number;
  readonly oldUsedBytes: number;
}

/** One reading of the process's memory (process.memoryUsage + V8 heap spaces). */
export function sampleMemory(): MemorySample {
  const m = process.memoryUsage();
  let newSpace = 0;
  let young = 0;
  for (const s of v8.getHeapSpaceStatistics()) {
    if (s.space_name === 'new_space') newSpace = s.space_used_size;
    if (s.space_name === 'new_space' || s.space_name === 'new_large_object_space') young += s.space_used_size;
  }
  return {
    rssBytes: m.rss,
    heapTotalBytes: m.heapTotal,
    heapUsedBytes: m.heapUsed,
    heapLimitBytes: v8.getHeapStatistics().heap_size_limit,
    externalBytes: m.external,
    arrayBuffersBytes: m.arrayBuffers,
    newSpaceUsedBytes: newSpace,
    youngUsedBytes: young,
    oldUsedBytes: Math.max(0, m.heapUsed - young),
  };
}

/** Live sources the metrics read at scrape time; each is optional so a partial JobManager still exports. */
export interface MemoryMetricSources {
  readonly plan: MemoryPlan;
  readonly pool?: () => BufferPoolStats | undefined;
  readonly caches?: () => readonly CacheStats[];
  readonly admission?: () => AdmissionStats | undefined;
  /** Test hook: a fixed reading instead of the process's. */
  readonly sample?: () => MemorySample;
}

export interface ComponentUsage {
  readonly component: MemoryComponent;
  readonly plannedBytes: number;
  readonly usedBytes: number;
  /** How `usedBytes` is measured, for /jobmanager/memory readers. */
  readonly measuredAs: string;
}

/** Each plan component's budget next to its measured use. */
export function componentUsage(plan: MemoryPlan, s: MemorySample, pool?: BufferPoolStats, caches?: readonly CacheStats[]): ComponentUsage[] {
  const offHeapUsed = s.externalBytes; // `external` includes arrayBuffers
  const cacheUsed = (caches ?? []).reduce((a, c) => a + c.bytes, 0);
  const row = (component: MemoryComponent, plannedBytes: number, usedBytes: number, measuredAs: string): ComponentUsage => ({
    component,
    plannedBytes,
    usedBytes: Math.max(0, Math.round(usedBytes)),
    measuredAs,
  });
  return [
    row('process', plan.processBytes, s.rssBytes, 'resident set size'),
    row('overhead', plan.overheadBytes, s.rssBytes - s.heapTotalBytes - offHeapUsed, 'rss - V8 heap committed - external (estimate)'),
    row('offHeap', plan.offHeapBytes, offHeapUsed, 'V8 external memory (Buffers, ArrayBuffers)'),
    row('network', plan.networkBytes, pool ? pool.bytesInUse : 0, 'network buffer segments in use'),
    row('heap', plan.heapBytes, s.heapUsedBytes, 'V8 heap used'),
    row('semiSpace', plan.semiSpaceBytes, s.newSpaceUsedBytes, 'V8 new space used'),
    row('youngGeneration', plan.youngGenerationBytes, s.youngUsedBytes, 'V8 new + new large object space used'),
    row('oldGeneration', plan.oldGenerationBytes, s.oldUsedBytes, 'V8 heap used - young generation'),
    row('cache', plan.cacheBytes, cacheUsed, 'estimated bytes held by coordination caches'),
  ];
}

export interface MemoryMetrics {
  readonly registry: Registry;
  /** Count one shed REST request (pressure.ts's onShed). */
  recordShed(reason: string): void;
  /** Prometheus text exposition. */
  metricsText(): Promise<string>;
  readonly contentType: string;
  /** Per-component planned vs used (for /jobmanager/memory). */
  components(): ComponentUsage[];
}

/**
 * Build the registry. Call once per JobManager (collectDefaultMetrics installs
 * a GC observer per registry).
 */
export function createMemoryMetrics(src: MemoryMetricSources, options: { defaultMetrics?: boolean } = {}): MemoryMetrics {
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry });
  const sample = src.sample ?? sampleMemory;
  const plan = src.plan;
  const pool = () => src.pool?.();
  const caches = () => src.caches?.() ?? [];
  const admission = () => src.admission?.();
  const registers = [registry];

  new Gauge({
    name: 'jobmanager_memory_planned_bytes',
    help: 'Memory plan: budget of each component (memory-model.md)',
    labelNames: ['component'],
    registers,
    collect() {
      for (const c of componentUsage(plan, sample())) this.set({ component: c.component }, c.plannedBytes);
    },
  });
  new Gauge({
    name: 'jobmanager_memory_used_bytes',
    help: 'Measured use of each memory plan component',
    labelNames: ['component'],
    registers,
    collect() {
      for (const c of componentUsage(plan, sample(), pool(), caches())) this.set({ component: c.component }, c.usedBytes);
    },
  });

  // --- network buffer pool
  const poolGauge = (name: string, help: string, read: (s: BufferPoolStats) => number) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        const s = pool();
        this.set(s ? read(s) : 0);
      },
    });
  poolGauge('jobmanager_network_segments_total', 'Network buffer segments allocated at boot', (s) => s.totalSegments);
  poolGauge('jobmanager_network_segments_available', 'Network buffer segments free', (s) => s.availableSegments);
  poolGauge('jobmanager_network_segments_reserved', 'Segments reserved for heartbeats and checkpoint acks', (s) => s.reservedSegments);
  poolGauge('jobmanager_network_segments_reserved_in_use', 'Reserved segments currently taken by priority traffic', (s) => s.reservedInUse);
  poolGauge('jobmanager_network_segment_bytes', 'Bytes per network buffer segment', (s) => s.segmentBytes);
  poolGauge('jobmanager_network_waiting_requests', 'Requests waiting for network buffer segments', (s) => s.waiting);
  const poolCounter = (name: string, help: string, read: (s: BufferPoolStats) => number) =>
    new Counter({
      name,
      help,
      registers,
      collect() {
        const s = pool();
        this.reset();
        if (s && read(s) > 0) this.inc(read(s));
      },
    });
  poolCounter('jobmanager_network_buffer_waits_total', 'Acquisitions that had to wait for segments', (s) => s.waits);
  poolCounter('jobmanager_network_buffer_rejections_total', 'Acquisitions refused (503 Retry-After)', (s) => s.rejections);

  // --- coordination caches
  const cacheGauge = (name: string, help: string, read: (s: CacheStats) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['cache'],
      registers,
      collect() {
        for (const c of caches()) this.set({ cache: c.name }, read(c));
      },
    });
  cacheGauge('jobmanager_cache_bytes', 'Estimated heap bytes held by a coordination cache', (c) => c.bytes);
  cacheGauge('jobmanager_cache_budget_bytes', 'Byte budget of a coordination cache', (c) => c.maxBytes);
  cacheGauge('jobmanager_cache_entries', 'Entries in a coordination cache', (c) => c.entries);
  new Counter({
    name: 'jobmanager_cache_evictions_total',
    help: 'Entries evicted from a coordination cache to stay within its budget (incl. entries too large to keep)',
    labelNames: ['cache'],
    registers,
    collect() {
      this.reset();
      for (const c of caches()) this.inc({ cache: c.name }, c.evictions + c.rejectedTooLarge);
    },
  });

  // --- admission control
  const adm = (name: string, help: string, read: (s: AdmissionStats) => number) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        const s = admission();
        this.set(s ? read(s) : 0);
      },
    });
  adm('jobmanager_admission_budget_bytes', 'Live-coordination budget handed out by admission control', (s) => s.budgetBytes);
  adm('jobmanager_admission_reserved_bytes', 'Estimated live bytes reserved by admitted jobs and registered TaskManagers', (s) => s.reservedBytes);
  adm('jobmanager_admission_jobs', 'Jobs holding an admission reservation', (s) => s.jobs);
  new Counter({
    name: 'jobmanager_admission_rejections_total',
    help: 'Job submissions rejected (503) because their estimated footprint did not fit',
    registers,
    collect() {
      const s = admission();
      this.reset();
      if (s && s.rejected > 0) this.inc(s.rejected);
    },
  });
  new Counter({
    name: 'jobmanager_admission_admitted_total',
    help: 'Job submissions admitted',
    registers,
    collect() {
      const s = admission();
      this.reset();
      if (s && s.admitted > 0) this.inc(s.admitted);
    },
  });

  // --- pressure shedding
  const shed = new Counter({
    name: 'jobmanager_shed_requests_total',
    help: 'REST requests shed with 503 under pressure, by what was under pressure',
    labelNames: ['reason'],
    registers,
  });

  return {
    registry,
    contentType: registry.contentType,
    recordShed: (reason) => shed.inc({ reason }),
    metricsText: () => registry.metrics(),
    components: () => componentUsage(plan, sample(), pool(), caches()),
  };
}
