// REST routes about the JobManager process itself: its effective
// configuration (Flink's GET /jobmanager/config), its memory plan with live
// figures (GET /jobmanager/memory), and the probes (GET /healthz, /readyz).
import { getHeapSpaceStatistics, getHeapStatistics } from 'node:v8';
import type { FastifyPluginAsync } from 'fastify';
import type { Configuration } from '../../config/configuration.js';
import { KEYS, MEMORY_KEYS } from '../../config/keys.js';
import type { ContainerMemory } from '../../memory/cgroup.js';
import { CONTAINER_LIMIT_KEY, type MemoryPlan } from '../../memory/plan.js';
import { MiB } from '../../memory/units.js';

export type JobManagerState = 'created' | 'running' | 'stopping' | 'stopped';

export interface JobManagerRestOptions {
  readonly config: Configuration;
  readonly plan: MemoryPlan;
  /** planToJson(plan, ...) - computed once by the composition root. */
  readonly planJson: Readonly<Record<string, unknown>>;
  /** heap_size_limit V8 must report for the plan's flags (self-check). */
  readonly expectedHeapSizeLimitBytes: number;
  /** Effective container limit (tighter of cgroup and injected), if any. */
  readonly containerLimitBytes: number | undefined;
  /** Fresh cgroup figures (usage changes); called per request. */
  readonly readContainerMemory: () => ContainerMemory;
  readonly state: () => JobManagerState;
  /** Each plan component's budget next to its measured use (app/memory/metrics.ts), per request. */
  readonly memoryComponents?: () => readonly { component: string; plannedBytes: number; usedBytes: number; measuredAs: string }[];
  /** Live state of the memory runtime (network buffer pool, caches, admission), per request. */
  readonly memoryRuntime?: () => Record<string, unknown>;
}

export interface ConfigEntryJson {
  key: string;
  value: string;
}

/** A plan size as config text: whole MiB as Flink's "256m", anything else in bytes. */
function sizeText(bytes: number): string {
  if (bytes > 0 && bytes % (1024 * MiB) === 0) return `${bytes / (1024 * MiB)}g`;
  return bytes % MiB === 0 ? `${bytes / MiB}m` : String(bytes);
}

/**
 * Every effective key (defaults included, secrets masked) in registry order.
 * Memory keys that were left to derivation show the plan's derived value (and
 * the container limit the one in force), so the operator sees every memory key
 * with the value actually in force.
 */
export function effectiveConfigEntries(
  config: Configuration,
  plan: MemoryPlan,
  containerLimitBytes?: number | undefined,
): ConfigEntryJson[] {
  const derived = new Map<string, string>([
    [MEMORY_KEYS.process, sizeText(plan.processBytes)],
    [MEMORY_KEYS.heap, sizeText(plan.heapBytes)],
    [MEMORY_KEYS.offHeap, sizeText(plan.offHeapBytes)],
    [MEMORY_KEYS.network, sizeText(plan.networkBytes)],
    [MEMORY_KEYS.networkSegmentSize, sizeText(plan.networkSegmentBytes)],
    [MEMORY_KEYS.semiSpace, sizeText(plan.semiSpaceBytes)],
  ]);
  // The limit in force (cgroup, when the chart injected none).
  if (containerLimitBytes !== undefined) derived.set(CONTAINER_LIMIT_KEY, sizeText(containerLimitBytes));
  const given = new Map(config.entries().map((e) => [e.key, e.value] as const));
  const out: ConfigEntryJson[] = [];
  for (const spec of KEYS) {
    const value = given.get(spec.key) ?? derived.get(spec.key);
    if (value !== undefined) out.push({ key: spec.key, value });
  }
  return out;
}

export interface LiveMemory {
  v8: Record<string, number>;
  heapSpaces: { name: string; sizeBytes: number; usedBytes: number; availableBytes: number; physicalBytes: number }[];
  process: Record<string, number>;
  container: {
    cgroupVersion: number | null;
    cgroupPath: string | null;
    limitBytes: number | null;
    usageBytes: number | null;
  };
}

/** Live figures of this process; cheap enough to compute per request. */
export function liveMemory(readContainerMemory: () => ContainerMemory): LiveMemory {
  const container = readContainerMemory();
  const heap = getHeapStatistics();
  return {
    v8: { ...heap } as unknown as Record<string, number>,
    heapSpaces: getHeapSpaceStatistics().map((s) => ({
      name: s.space_name,
      sizeBytes: s.space_size,
      usedBytes: s.space_used_size,
      availableBytes: s.space_available_size,
      physicalBytes: s.physical_space_size,
    })),
    process: { ...process.memoryUsage() },
    container: {
      cgroupVersion: container.cgroupVersion ?? null,
      cgroupPath: container.cgroupPath ?? null,
      limitBytes: container.limitBytes ?? null,
      usageBytes: container.usageBytes ?? null,
    },
  };
}

const numberMap = { type: 'object', additionalProperties: { type: 'number' } } as const;
const nullableNumber = { type: ['number', 'null'] } as const;

const configResponse = {
  200: {
    type: 'array',
    items: {
      type: 'object',
      required: ['key', 'value'],
      properties: { key: { type: 'string' }, value: { type: 'string' } },
    },
  },
} as const;

const memoryResponse = {
  200: {
    type: 'object',
    required: ['plan', 'heapSizeLimit', 'v8', 'heapSpaces', 'process', 'container'],
    properties: {
      plan: { type: 'object', additionalProperties: true },
      components: {
        type: 'array',
        items: {
          type: 'object',
          properties: {
            component: { type: 'string' },
            plannedBytes: { type: 'number' },
            usedBytes: { type: 'number' },
            measuredAs: { type: 'string' },
          },
        },
      },
      runtime: { type: 'object', additionalProperties: true },
      heapSizeLimit: {
        type: 'object',
        required: ['expected', 'actual'],
        properties: { expected: { type: 'number' }, actual: { type: 'number' } },
      },
      v8: numberMap,
      heapSpaces: {
        type: 'array',
        items: {
          type: 'object',
          properties: {
            name: { type: 'string' },
            sizeBytes: { type: 'number' },
            usedBytes: { type: 'number' },
            availableBytes: { type: 'number' },
            physicalBytes: { type: 'number' },
          },
        },
      },
      process: numberMap,
      container: {
        type: 'object',
        properties: {
          cgroupVersion: nullableNumber,
          cgroupPath: { type: ['string', 'null'] },
          limitBytes: nullableNumber,
          usageBytes: nullableNumber,
          effectiveLimitBytes: nullableNumber,
        },
      },
    },
  },
} as const;

const statusResponse = {
  type: 'object',
  required: ['status'],
  properties: { status: { type: 'string' } },
} as const;

export const jobManagerRest: FastifyPluginAsync<JobManagerRestOptions> = async (app, opts) => {
  // Configuration and plan are fixed for the life of the process: built once.
  const configEntries = effectiveConfigEntries(opts.config, opts.plan, opts.containerLimitBytes);
  app.get('/jobmanager/config', { schema: { response: configResponse } }, async () => configEntries);

  app.get('/jobmanager/memory', { schema: { response: memoryResponse } }, async () => {
    const live = liveMemory(opts.readContainerMemory);
    return {
      plan: opts.planJson,
      ...(opts.memoryComponents ? { components: opts.memoryComponents() } : {}),
      ...(opts.memoryRuntime ? { runtime: opts.memoryRuntime() } : {}),
      heapSizeLimit: { expected: opts.expectedHeapSizeLimitBytes, actual: live.v8['heap_size_limit'] ?? 0 },
      ...live,
      container: { ...live.container, effectiveLimitBytes: opts.containerLimitBytes ?? null },
    };
  });

  // Probes are polled every few seconds: keep them out of the info log.
  app.get('/healthz', { logLevel: 'warn', schema: { response: { 200: statusResponse } } }, async () => ({ status: 'UP' }));

  app.get(
    '/readyz',
    { logLevel: 'warn', schema: { response: { 200: statusResponse, 503: statusResponse } } },
    async (_request, reply) => {
      const state = opts.state();
      if (state === 'running') return { status: 'ready' };
      return reply.code(503).send({ status: state === 'created' ? 'starting' : 'shutting down' });
    },
  );
};
