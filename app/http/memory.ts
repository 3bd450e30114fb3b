// The HTTP side of the memory runtime (app/memory/runtime.ts):
// - pressure shedding on the REST server (@fastify/under-pressure with the
//   plan's thresholds; probes and observability paths exempt),
// - GET /metrics (Prometheus text) on the REST server,
// - RPC request bodies read into the network buffer pool: heartbeats and
//   checkpoint acks/declines take the reserved share; when the pool is
//   exhausted the RPC answers 503 + Retry-After instead of allocating more.
// The RPC server never registers under-pressure: TaskManager heartbeats and
// acks are never shed.
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import underPressure from '@fastify/under-pressure';
import type { MemoryRuntime } from '../memory/runtime.js';
import type { NetworkBufferPool, TrafficClass } from '../memory/buffer-pool.js';
import { readIntoSegments } from '../memory/segments.js';

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

export interface PooledBodyOptions {
  readonly pool: NetworkBufferPool;
  /** jobmanager.rpc.max-body-size */
  readonly maxBodyBytes: number;
  /** Route URLs (as declared, e.g. `/v1/taskmanagers/:taskManagerId/heartbeat`) that use the reserved share. */
  readonly priorityRoutes: readonly string[];
}

/**
 * Replace the RPC server's JSON parser with one that reads the body into
 * network buffer segments (ceil(N / segment) of them, acquired at once when
 * Content-Length is given) and releases them as soon as the JSON is parsed.
 * Parsing itself is Fastify's default JSON parser (empty-body and
 * prototype-poisoning checks unchanged). A PoolExhaustedError carries
 * statusCode 503 and a retry hint; the RPC error handler answers 503 with
 * Retry-After.
 */
export function installPooledJsonBodies(app: FastifyInstance, options: PooledBodyOptions): void {
  const { pool, maxBodyBytes } = options;
  const priority = new Set(options.priorityRoutes);
  const parseJson = app.getDefaultJsonParser('error', 'error');
  if (app.hasContentTypeParser('application/json')) app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', (request, payload, done) => {
    const header = request.headers['content-length'];
    const declared = header !== undefined && /^\d+$/.test(header) ? Number(header) : undefined;
    const trafficClass: TrafficClass = priority.has(request.routeOptions.url ?? '') ? 'priority' : 'bulk';
    readIntoSegments(payload, pool, { declaredBytes: declared, maxBytes: maxBodyBytes, trafficClass }).then(
      (body) => {
        let text: string;
        try {
          text = body.text();
        } catch (err) {
          body.release();
          done(Object.assign(new SyntaxError(`body is not valid UTF-8: ${(err as Error).message}`), { statusCode: 400 }), undefined);
          return;
        }
        body.release();
        parseJson(request, text, done);
      },
      (err: Error) => done(err, undefined),
    );
  });
}
