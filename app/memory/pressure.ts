// Pressure shedding thresholds derived from the plan, in the shape of
// @fastify/under-pressure's options (this module imports no Fastify: the REST
// adapter registers the plugin with these options). Only the REST server is
// shed; the RPC server (TaskManager heartbeats, checkpoint acks) never
// registers the plugin, and REST routes that must answer under pressure
// (/healthz, /metrics) opt out with PRESSURE_EXEMPT_ROUTE_CONFIG.
import type { MemoryPlan } from './plan.js';
import { formatBytes } from './units.js';
import { MEMORY_KEYS } from '../config/keys.js';

/** Heap used above this share of the old generation sheds REST requests. */
export const HEAP_PRESSURE_FRACTION = 0.9;
/** RSS above this share of the process size sheds REST requests (the OOM killer acts at 100%). */
export const RSS_PRESSURE_FRACTION = 0.9;
export const DEFAULT_MAX_EVENT_LOOP_DELAY_MS = 1000;
export const DEFAULT_RETRY_AFTER_SECONDS = 5;

/** under-pressure's `type` values (TYPE_* exports of the plugin). */
export type PressureType = 'eventLoopDelay' | 'heapUsedBytes' | 'rssBytes' | 'healthCheck' | 'eventLoopUtilization';

/** The subset of a Fastify reply the handler uses (structural, so no Fastify import here). */
export interface ShedReply {
  code(statusCode: number): ShedReply;
  header(name: string, value: string | number): ShedReply;
}

export interface PressureThresholds {
  readonly maxHeapUsedBytes: number;
  readonly maxRssBytes: number;
  readonly maxEventLoopDelay: number;
  readonly retryAfter: number;
  readonly sampleInterval: number;
}

/** The body a shed request gets: Flink's error shape, naming what is under pressure. */
export interface ShedBody {
  readonly errors: string[];
}

export interface UnderPressureOptions extends PressureThresholds {
  /** Returns the 503 body, or undefined to let an exempt request through. */
  readonly pressureHandler: (request: unknown, reply: ShedReply, type: string, value: number | undefined) => ShedBody | undefined;
}

/** REST paths never shed (probes, observability). */
export const PRESSURE_EXEMPT_PATHS: readonly string[] = ['/healthz', '/readyz', '/metrics', '/jobmanager/memory', '/jobmanager/metrics'];

export function pressureThresholds(
  plan: Pick<MemoryPlan, 'oldGenerationBytes' | 'processBytes'>,
  opts: { maxEventLoopDelayMs?: number; retryAfterSeconds?: number; sampleIntervalMs?: number } = {},
): PressureThresholds {
  return {
    maxHeapUsedBytes: Math.floor(plan.oldGenerationBytes * HEAP_PRESSURE_FRACTION),
    maxRssBytes: Math.floor(plan.processBytes * RSS_PRESSURE_FRACTION),
    maxEventLoopDelay: opts.maxEventLoopDelayMs ?? DEFAULT_MAX_EVENT_LOOP_DELAY_MS,
    retryAfter: opts.retryAfterSeconds ?? DEFAULT_RETRY_AFTER_SECONDS,
    // under-pressure samples event-loop delay at 10 ms resolution; a shorter
    // interval can see no sample and reports Infinity (sheds everything).
    sampleInterval: Math.max(100, opts.sampleIntervalMs ?? 500),
  };
}

/** One line naming what is under pressure, its value and the limit (and the setting behind it). */
export function describePressure(type: string, value: number | undefined, t: PressureThresholds): string {
  switch (type as PressureType) {
    case 'heapUsedBytes':
      return `JobManager under memory pressure: V8 heap used ${formatBytes(value ?? 0)} exceeds ${formatBytes(t.maxHeapUsedBytes)} (${HEAP_PRESSURE_FRACTION * 100}% of the planned old generation; raise ${MEMORY_KEYS.process} or ${MEMORY_KEYS.heap})`;
    case 'rssBytes':
      return `JobManager under memory pressure: resident memory ${formatBytes(value ?? 0)} exceeds ${formatBytes(t.maxRssBytes)} (${RSS_PRESSURE_FRACTION * 100}% of ${MEMORY_KEYS.process})`;
    case 'eventLoopDelay':
      return `JobManager overloaded: event loop delay ${Math.round(value ?? 0)} ms exceeds ${t.maxEventLoopDelay} ms`;
    case 'eventLoopUtilization':
      return `JobManager overloaded: event loop utilization ${(value ?? 0).toFixed(2)} is too high`;
    default:
      return `JobManager unhealthy (${type})`;
  }
}

/**
 * Options for @fastify/under-pressure on the REST server: thresholds from the
 * plan, and a handler answering 503 + Retry-After + {"errors": [...]}.
 * `onShed` counts shed requests (the metrics counter).
 */
export function underPressureOptions(
  plan: Pick<MemoryPlan, 'oldGenerationBytes' | 'processBytes'>,
  onShed: (type: string) => void = () => {},
  opts: { maxEventLoopDelayMs?: number; retryAfterSeconds?: number; sampleIntervalMs?: number; exemptPaths?: readonly string[] } = {},
): UnderPressureOptions {
  const t = pressureThresholds(plan, opts);
  const exempt = new Set(opts.exemptPaths ?? PRESSURE_EXEMPT_PATHS);
  return {
    ...t,
    pressureHandler: (request, reply, type, value) => {
      const url = (request as { url?: unknown }).url;
      const path = typeof url === 'string' ? url.split('?')[0] : undefined;
      // Probes and observability must answer under pressure: a failing
      // readiness probe would cut TaskManagers off, and operators need
      // /metrics and /jobmanager/memory most when memory is tight.
      if (path !== undefined && exempt.has(path)) return undefined;
      onShed(type);
      reply.code(503).header('Retry-After', t.retryAfter);
      // Returning the body makes under-pressure send it and stop the request.
      return { errors: [describePressure(type, value, t)] };
    },
  };
}

/**
 * Route `config` that exempts a REST route from shedding: a route-level
 * pressureHandler returning nothing lets the request through (under-pressure
 * prefers the route's handler to the global one).
 */
export const PRESSURE_EXEMPT_ROUTE_CONFIG = Object.freeze({ pressureHandler: (): undefined => undefined });
