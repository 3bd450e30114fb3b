// The HTTP side of the memory runtime (app/memory/runtime.ts):
// - pressure shedding on the REST server (@fastify/under-pressure with the
//   plan's thresholds; probes and observability paths exempt),
// - GET /metrics (Prometheus text) on the REST server.
// (RPC request bodies go through the network buffer pool in
// app/http/rpc/server.ts, option networkBuffers.) The RPC server never
// registers under-pressure: TaskManager heartbeats and acks are never shed.
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import underPressure from '@fastify/under-pressure';
import type { MemoryRuntime } from '../memory/runtime.js';

/** Register pressure shedding on the REST server's root instance (before its routes). */
export async function registerPressureShedding(rest: FastifyInstance, runtime: Pick<MemoryRuntime, 'underPressure'>): Promise<void> {
  const opts = runtime.underPressure;
  await rest.register(underPressure, {
    maxHeapUsedBytes: opts.maxHeapUsedBytes,
    maxRssBytes: opts.maxRssBytes,
    maxEventLoopDelay: opts.maxEventLoopDelay,
    retryAfter: opts.retryAfter,
    sampleInterval: opts.sampleInterval,
    // under-pressure sends a non-null return value as the reply (its README:
    // "Any other return value than a promise or nullish will be sent") and
    // lets the request through on undefined; its .d.ts only says void.
    pressureHandler: ((request: FastifyRequest, reply: FastifyReply, type: string, value: number | undefined) =>
      opts.pressureHandler(request, reply, type, value)) as unknown as (request: FastifyRequest, reply: FastifyReply, type: string, value: number | undefined) => void,
  });
}

export interface MetricsRestOptions {
  readonly runtime: Pick<MemoryRuntime, 'metrics'>;
}

/** GET /metrics: Prometheus text exposition of the runtime's registry. */
export const metricsRest: FastifyPluginAsync<MetricsRestOptions> = async (app, opts) => {
  const { metrics } = opts.runtime;
  app.get('/metrics', async (_request, reply) => {
    const text = await metrics.metricsText();
    return reply.type(metrics.contentType).send(text);
  });
};
