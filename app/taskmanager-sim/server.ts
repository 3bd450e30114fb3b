// The simulator's HTTP endpoint (every simulated TaskManager's rpcAddress):
// one Fastify server per process, routing JobManager -> TaskManager calls by
// the TaskManager id in the path. Same bearer token as the JobManager's RPC.
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import { installBearerAuth } from '../http/rpc/auth.js';
import { answerForFastifyError } from '../http/rpc/errors.js';
import {
  RPC_VERSION,
  TM_PATHS,
  cancelRequestSchema,
  deployRequestSchema,
  tmParamsSchema,
  type CancelRequest,
  type DeployRequest,
} from '../http/rpc/protocol.js';
import {
  confirmCheckpointRequestSchema,
  triggerCheckpointRequestSchema,
  type ConfirmCheckpointBody,
  type TriggerCheckpointBody,
} from '../http/rpc/checkpoints.js';
import type { SimulatedTaskManager } from './task-manager.js';

export interface SimulatorServerOptions {
  token: string;
  maxBodyBytes: number;
  logger: FastifyBaseLogger;
  taskManager: (taskManagerId: string) => SimulatedTaskManager | undefined;
}

export function buildSimulatorServer(options: SimulatorServerOptions): FastifyInstance {
  const app = Fastify({
    loggerInstance: options.logger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: options.maxBodyBytes,
    ajv: { customOptions: { allErrors: true, removeAdditional: false, coerceTypes: false } },
  });
  installBearerAuth(app, options.token);
  // JSON only: without this, text/plain bodies would reach the schema as strings.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, app.getDefaultJsonParser('error', 'error'));

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const answer = answerForFastifyError(error, options.maxBodyBytes, 'taskmanager-sim --max-body-size');
    if (answer !== undefined) return reply.code(answer.statusCode).send({ errors: answer.errors });
    request.log.error({ err: error }, 'simulator handler failed');
    return reply.code(500).send({ errors: ['internal error in the TaskManager simulator'] });
  });
  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send({ errors: [`no route ${request.method} ${request.url.split('?')[0]} on this TaskManager (protocol ${RPC_VERSION})`] });
  });

  const lookup = (id: string): SimulatedTaskManager | { errors: string[] } => {
    const tm = options.taskManager(id);
    return tm ?? { errors: [`no TaskManager ${id} at this address`] };
  };

  app.post<{ Params: { taskManagerId: string }; Body: DeployRequest }>(TM_PATHS.deploy, {
    schema: { params: tmParamsSchema, body: deployRequestSchema },
  }, async (request, reply) => {
    const tm = lookup(request.params.taskManagerId);
    if ('errors' in tm) return reply.code(404).send(tm);
    const result = tm.deploy(request.body.descriptors);
    if ('errors' in result) return reply.code(400).send(result);
    return result;
  });

  app.post<{ Params: { taskManagerId: string }; Body: CancelRequest }>(TM_PATHS.cancel, {
    schema: { params: tmParamsSchema, body: cancelRequestSchema },
  }, async (request, reply) => {
    const tm = lookup(request.params.taskManagerId);
    if ('errors' in tm) return reply.code(404).send(tm);
    return tm.cancel(request.body.executionAttemptIds);
  });

  app.post<{ Params: { taskManagerId: string }; Body: TriggerCheckpointBody }>(TM_PATHS.triggerCheckpoint, {
    schema: { params: tmParamsSchema, body: triggerCheckpointRequestSchema },
  }, async (request, reply) => {
    const tm = lookup(request.params.taskManagerId);
    if ('errors' in tm) return reply.code(404).send(tm);
    return tm.checkpoints.trigger(request.body);
  });

  app.post<{ Params: { taskManagerId: string }; Body: ConfirmCheckpointBody }>(TM_PATHS.confirmCheckpoint, {
    schema: { params: tmParamsSchema, body: confirmCheckpointRequestSchema },
  }, async (request, reply) => {
    const tm = lookup(request.params.taskManagerId);
    if ('errors' in tm) return reply.code(404).send(tm);
    return tm.checkpoints.confirm(request.body);
  });

  return app;
}
