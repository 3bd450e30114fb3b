// Everything the plan sizes at boot, built in one call for the composition
// root: the network buffer pool (allocated once), the coordination caches,
// admission control, pressure-shedding options and the metrics registry.
import type { MemoryPlan } from './plan.js';
import { NetworkBufferPool } from './buffer-pool.js';
import { createCoordinationCaches, ENTRY_OVERHEAD_BYTES, HEAP_BYTES_PER_JSON_BYTE, type CoordinationCaches } from './caches.js';
import { AdmissionController, liveCoordinationBudget, type LiveBudget } from './admission.js';
import { underPressureOptions, type UnderPressureOptions } from './pressure.js';
import { createMemoryMetrics, type MemoryMetrics } from './metrics.js';
import { flinkGauges, type FlinkGauge } from './flink-metrics.js';

export interface MemoryRuntime {
  readonly plan: MemoryPlan;
  readonly pool: NetworkBufferPool;
  /** Values are the Dispatcher's archived-job snapshots and checkpoint statistics (opaque here). */
  readonly caches: CoordinationCaches<object, TerminalCheckpointStats, ArchivedJobSummary, undefined>;
  /** For CheckpointService's retainTerminalStats: keep a terminal job's statistics within the checkpoint-stats budget. */
  retainTerminalCheckpointStats(jobId: string, statsJsonBytes: number, drop: () => void): void;
  readonly admission: AdmissionController;
  readonly liveBudget: LiveBudget;
  readonly metrics: MemoryMetrics;
  /** Flink-style ids (Status.JVM.*, Status.Network.*MemorySegments, Status.JobManager.Memory.*) for /jobmanager/metrics. */
  readonly flinkGauges: ReadonlyMap<string, FlinkGauge>;
  /** Options for @fastify/under-pressure on the REST server (never on the RPC server). */
  readonly underPressure: UnderPressureOptions;
  close(): void;
}

/** A terminal job's checkpoint statistics held by the checkpoint service; the cache only weighs and drops them. */
export interface TerminalCheckpointStats {
  readonly statsJsonBytes: number;
  readonly drop: () => void;
}

/** What a tombstone keeps of an evicted archived job (a few dozen bytes). */
export interface ArchivedJobSummary {
  readonly name?: string;
  readonly state?: string;
}

export interface MemoryRuntimeOptions {
  /** Event-loop delay above which REST requests are shed (default 1000 ms). */
  readonly maxEventLoopDelayMs?: number;
  /** Collect prom-client's default Node.js metrics (GC, event loop, ...). Default true. */
  readonly defaultMetrics?: boolean;
  /**
   * Shed on heap/RSS thresholds. Only meaningful when the process runs with
   * the plan's V8 flags (bin/jobmanager); an in-process test or a plain
   * `node` has a different heap, so the composition root turns it off there
   * (event-loop-delay shedding stays). Default true.
   */
  readonly memoryShedding?: boolean;
}

function summarizeArchivedJob(value: object): ArchivedJobSummary {
  // The Dispatcher archives {status, overview: {name, state, ...}, ...}; keep name and state only.
  const v = value as { status?: unknown; overview?: { name?: unknown; state?: unknown } };
  const name = typeof v.overview?.name === 'string' ? v.overview.name.slice(0, 200) : undefined;
  const state = typeof v.status === 'string' ? v.status : typeof v.overview?.state === 'string' ? v.overview.state : undefined;
  return { ...(name !== undefined ? { name } : {}), ...(state !== undefined ? { state } : {}) };
}

export function createMemoryRuntime(plan: MemoryPlan, options: MemoryRuntimeOptions = {}): MemoryRuntime {
  const pool = new NetworkBufferPool({ totalBytes: plan.networkBytes, segmentBytes: plan.networkSegmentBytes });
  const caches = createCoordinationCaches<object, TerminalCheckpointStats, ArchivedJobSummary, undefined>(plan.cacheBytes, {
    summarizeArchivedJob,
    checkpointStatsSizeOf: (v) => ENTRY_OVERHEAD_BYTES + Math.ceil(v.statsJsonBytes * HEAP_BYTES_PER_JSON_BYTE),
    onCheckpointStatsEvict: (v) => v.drop(),
  });
  const liveBudget = liveCoordinationBudget(plan);
  const admission = new AdmissionController(liveBudget.liveBytes);
  const sources = { plan, pool: () => pool.stats(), caches: () => caches.stats(), admission: () => admission.stats() };
  const metrics = createMemoryMetrics(sources, { defaultMetrics: options.defaultMetrics ?? true });
  const planned = underPressureOptions(plan, (type) => metrics.recordShed(type), {
    ...(options.maxEventLoopDelayMs !== undefined ? { maxEventLoopDelayMs: options.maxEventLoopDelayMs } : {}),
  });
  // 0 disables a threshold in under-pressure.
  const underPressure = options.memoryShedding === false ? { ...planned, maxHeapUsedBytes: 0, maxRssBytes: 0 } : planned;
  return {
    plan,
    pool,
    caches,
    retainTerminalCheckpointStats: (jobId, statsJsonBytes, drop) => void caches.checkpointStats.set(jobId, { statsJsonBytes, drop }),
    admission,
    liveBudget,
    metrics,
    flinkGauges: flinkGauges(sources, metrics.registry),
    underPressure,
    close() {
      pool.close();
      metrics.registry.clear();
    },
  };
}
