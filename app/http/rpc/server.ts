// The JobManager's TaskManager-facing RPC server (jobmanager.rpc.port): a
// separate Fastify instance from the REST API, JSON over HTTP/1.1 keep-alive,
// bearer-token auth on every route. It adapts the domain core (ResourceManager,
// Dispatcher, CheckpointCoordinator); it holds no state itself.
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyRequest } from 'fastify';
import type { ResourceManagerApi } from '../../cluster/types.js';
import { RegistrationError } from '../../cluster/errors.js';
import type { DispatcherApi } from '../../jobs/types.js';
import type { NetworkBufferPool } from '../../memory/buffer-pool.js';
import { readIntoSegments } from '../../memory/segments.js';
import { installBearerAuth } from './auth.js';
import { answerForCarriedError, answerForFastifyError } from './errors.js';
import {
  JM_PATHS,
  RPC_VERSION,
  checkpointAcksRequestSchema,
  checkpointDeclinesRequestSchema,
  heartbeatParamsSchema,
  heartbeatRequestSchema,
  registerRequestSchema,
  taskStatesRequestSchema,
  type CheckpointAcksRequest,
  type CheckpointDeclinesRequest,
  type HeartbeatRequest,
  type RegisterRequest,
  type TaskStatesRequest,
  type TaskStatesResponse,
} from './protocol.js';

/** What the RPC server needs from the ResourceManager. */
export type RpcResourceManagerPort = Pick<ResourceManagerApi, 'registerTaskManager' | 'heartbeatFromTaskManager'>;

/** What the RPC server needs from the Dispatcher. */
export type RpcDispatcherPort = Pick<DispatcherApi, 'updateTaskExecutionStates'>;

/** The CheckpointCoordinator's inbound side (acks/declines); absent = those paths answer 501. */
export interface RpcCheckpointPort {
  acknowledgeCheckpoints(request: CheckpointAcksRequest): { accepted: number; ignored: number };
  declineCheckpoints(request: CheckpointDeclinesRequest): { accepted: number; ignored: number };
}

export interface RpcServerOptions {
  token: string;
  /** jobmanager.rpc.max-body-size in bytes. */
  maxBodyBytes: number;
  resourceManager: RpcResourceManagerPort;
  dispatcher: RpcDispatcherPort;
  checkpoints?: RpcCheckpointPort | undefined;
  /** A pino logger (the JobManager's, child `rpc`); none = silent. */
  logger?: FastifyBaseLogger | undefined;
  /** Socket idle time before the server closes a keep-alive connection. */
  keepAliveTimeoutMs?: number;
  /**
   * The network buffer pool: when given, request bodies are read into its
   * segments (never beyond the plan's network memory). Heartbeats,
   * registrations and checkpoint acks/declines are priority traffic (they may
   * use the reserved share); task state batches are bulk and get 503 +
   * Retry-After when no segment frees up in time.
   */
  networkBuffers?: NetworkBufferPool | undefined;
}

const PRIORITY_PATHS = [/\/heartbeat$/, /\/taskmanagers\/register$/, /^\/v\d+\/checkpoints\//];

export function buildRpcServer(options: RpcServerOptions): FastifyInstance {
  const app = Fastify({
    loggerInstance: options.logger,
    // Heartbeats arrive every few seconds from every TaskManager: logging each
    // one would drown the log. Errors and registrations are logged below.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: options.maxBodyBytes,
    keepAliveTimeout: options.keepAliveTimeoutMs ?? 75_000,
    requestTimeout: 60_000,
    return503OnClosing: true,
    ajv: { customOptions: { allErrors: true, removeAdditional: false, coerceTypes: false } },
  });

  installBearerAuth(app, options.token);
  // JSON only: without this, text/plain bodies would reach the schema as strings.
  app.removeAllContentTypeParsers();
  const parseJson = app.getDefaultJsonParser('error', 'error');
  const pool = options.networkBuffers;
  if (pool === undefined) {
    app.addContentTypeParser('application/json', { parseAs: 'string' }, parseJson);
  } else {
    app.addContentTypeParser('application/json', async (request: FastifyRequest, payload: AsyncIterable<Buffer>) => {
      const path = request.url.split('?')[0] ?? request.url;
      const declared = request.headers['content-length'];
      const bytes = await readIntoSegments(payload, pool, {
        declaredBytes: declared === undefined ? undefined : Number(declared),
        maxBytes: options.maxBodyBytes,
        trafficClass: PRIORITY_PATHS.some((p) => p.test(path)) ? 'priority' : 'bulk',
      });
      // The segments only hold the bytes until they are parsed.
      let text: string;
      try {
        text = bytes.text();
      } catch {
        throw Object.assign(new Error('body is not valid UTF-8 JSON'), { statusCode: 400 });
      } finally {
        bytes.release();
      }
      return await new Promise((resolve, reject) => {
        parseJson(request, text, (err: Error | null, body?: unknown) => (err ? reject(err) : resolve(body)));
      });
    });
  }

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const answer = answerForFastifyError(error, options.maxBodyBytes, 'jobmanager.rpc.max-body-size');
    if (answer !== undefined) {
      return reply.code(answer.statusCode).send({ errors: answer.errors });
    }
    if (error instanceof RegistrationError) {
      return reply.code(400).send({ errors: error.errors });
    }
    const carried = answerForCarriedError(error);
    if (carried !== undefined) {
      return reply.code(carried.statusCode).headers(carried.headers ?? {}).send({ errors: carried.errors });
    }
    request.log.error({ err: error, url: request.url }, 'RPC handler failed');
    return reply.code(500).send({ errors: [`internal error while handling ${request.method} ${request.routeOptions.url ?? request.url}`] });
  });

  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send({
      errors: [`no RPC route ${request.method} ${request.url.split('?')[0]}; this is the TaskManager RPC port, protocol ${RPC_VERSION} (see docs/rpc.md)`],
    });
  });

  app.post<{ Body: RegisterRequest }>(JM_PATHS.register, {
    schema: { body: registerRequestSchema },
  }, async (request) => {
    const response = options.resourceManager.registerTaskManager(request.body);
    request.log.info(
      { taskManagerId: request.body.taskManagerId, rpcAddress: request.body.rpcAddress, slots: request.body.numberOfSlots },
      'TaskManager registered',
    );
    return response;
  });

  app.post<{ Params: { taskManagerId: string }; Body: HeartbeatRequest }>(JM_PATHS.heartbeat, {
    schema: { params: heartbeatParamsSchema, body: heartbeatRequestSchema },
  }, async (request) => {
    const { taskManagerId } = request.params;
    return options.resourceManager.heartbeatFromTaskManager(taskManagerId, request.body.registrationId, request.body.slotReport);
  });

  app.post<{ Body: TaskStatesRequest }>(JM_PATHS.taskStates, {
    schema: { body: taskStatesRequestSchema },
  }, async (request): Promise<TaskStatesResponse> => {
    const results = options.dispatcher.updateTaskExecutionStates(request.body.updates);
    let accepted = 0;
    for (const result of results) if (result.applied) accepted++;
    return { accepted, ignored: results.length - accepted };
  });

  app.post<{ Body: CheckpointAcksRequest }>(JM_PATHS.checkpointAcks, {
    schema: { body: checkpointAcksRequestSchema },
  }, async (request, reply) => {
    if (options.checkpoints === undefined) {
      return reply.code(501).send({ errors: ['checkpoint acknowledgements are not supported by this JobManager yet'] });
    }
    return options.checkpoints.acknowledgeCheckpoints(request.body);
  });

  app.post<{ Body: CheckpointDeclinesRequest }>(JM_PATHS.checkpointDeclines, {
    schema: { body: checkpointDeclinesRequestSchema },
  }, async (request, reply) => {
    if (options.checkpoints === undefined) {
      return reply.code(501).send({ errors: ['checkpoint declines are not supported by this JobManager yet'] });
    }
    return options.checkpoints.declineCheckpoints(request.body);
  });

  return app;
}
