// Flink REST v1 checkpoint endpoints over the CheckpointService:
//   GET  /jobs/:jobid/checkpoints                       CheckpointingStatistics
//   GET  /jobs/:jobid/checkpoints/config                CheckpointConfigInfo (404 when periodic checkpointing is off, as Flink)
//   GET  /jobs/:jobid/checkpoints/details/:checkpointid CheckpointStatistics with per-vertex tasks
//   POST /jobs/:jobid/checkpoints                       manual trigger -> 202 {"request-id"}
//   GET  /jobs/:jobid/checkpoints/:triggerid            status of a manual trigger (Flink's async operation shape)
import type { FastifyPluginAsync } from 'fastify';
import { CheckpointTriggerError, type CheckpointCoordinator } from '../../checkpoints/coordinator.js';
import { JOB_ID_PATTERN } from './errors-domain.js';

export interface CheckpointsRestOptions {
  readonly checkpoints: { coordinator(jobId: string): CheckpointCoordinator | undefined };
}

interface JobParams {
  jobid: string;
}

const CHECKPOINT_TYPES = ['CONFIGURED', 'FULL', 'INCREMENTAL'];

export const checkpointsRest: FastifyPluginAsync<CheckpointsRestOptions> = async (app, { checkpoints }) => {
  // Flink's trigger takes an optional JSON body; an empty body is fine too.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = String(body).trim();
    if (text === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch (err) {
      const e = new Error(`request body is not valid JSON: ${(err as Error).message}`) as Error & { statusCode: number };
      e.statusCode = 400;
      done(e, undefined);
    }
  });

  /** Resolves the job's coordinator or sends 400/404; undefined when answered. */
  const coordinatorFor = (jobid: string, reply: { code(n: number): { send(b: unknown): unknown } }): CheckpointCoordinator | undefined => {
    if (!JOB_ID_PATTERN.test(jobid)) {
      reply.code(400).send({ errors: [`jobid must be 32 lowercase hex characters (a Flink JobID), got ${JSON.stringify(jobid.slice(0, 80))}`] });
      return undefined;
    }
    const c = checkpoints.coordinator(jobid);
    if (!c) reply.code(404).send({ errors: [`Job ${jobid} not found (or its checkpoint statistics are no longer kept)`] });
    return c;
  };

  app.get<{ Params: JobParams }>('/jobs/:jobid/checkpoints', async (request, reply) => {
    const c = coordinatorFor(request.params.jobid, reply);
    return c ? c.statistics() : reply;
  });

  app.get<{ Params: JobParams }>('/jobs/:jobid/checkpoints/config', async (request, reply) => {
    const c = coordinatorFor(request.params.jobid, reply);
    if (!c) return reply;
    return c.configInfo() ?? reply.code(404).send({ errors: [`Checkpointing is not enabled for job ${request.params.jobid}`] });
  });

  app.get<{ Params: JobParams & { checkpointid: string } }>('/jobs/:jobid/checkpoints/details/:checkpointid', async (request, reply) => {
    const c = coordinatorFor(request.params.jobid, reply);
    if (!c) return reply;
    const raw = request.params.checkpointid;
    if (!/^\d{1,15}$/.test(raw)) return reply.code(400).send({ errors: [`checkpointid must be a non-negative integer, got ${JSON.stringify(raw.slice(0, 40))}`] });
    return c.details(Number(raw)) ?? reply.code(404).send({ errors: [`Could not find checkpointing statistics for checkpoint ${raw} (only the last ${c.currentSettings().historySize} are kept, web.checkpoints.history)`] });
  });

  app.post<{ Params: JobParams; Body: unknown }>('/jobs/:jobid/checkpoints', async (request, reply) => {
    const c = coordinatorFor(request.params.jobid, reply);
    if (!c) return reply;
    const body = request.body;
    if (body !== undefined && body !== null) {
      const type = typeof body === 'object' && !Array.isArray(body) ? (body as { checkpointType?: unknown }).checkpointType : body;
      const extra = typeof body === 'object' && !Array.isArray(body) ? Object.keys(body).filter((k) => k !== 'checkpointType') : ['(not an object)'];
      if (extra.length > 0 || (type !== undefined && !CHECKPOINT_TYPES.includes(String(type)))) {
        return reply.code(400).send({ errors: [`body must be empty or {"checkpointType": one of ${CHECKPOINT_TYPES.join(', ')}}`] });
      }
    }
    try {
      return await reply.code(202).send({ 'request-id': c.triggerManual() });
    } catch (err) {
      if (err instanceof CheckpointTriggerError) return reply.code(409).send({ errors: [err.message] });
      throw err;
    }
  });

  app.get<{ Params: JobParams & { triggerid: string } }>('/jobs/:jobid/checkpoints/:triggerid', async (request, reply) => {
    const c = coordinatorFor(request.params.jobid, reply);
    if (!c) return reply;
    const s = c.manualCheckpointStatus(request.params.triggerid);
    if (!s) return reply.code(404).send({ errors: [`unknown checkpoint request ${JSON.stringify(request.params.triggerid.slice(0, 64))} for job ${request.params.jobid}`] });
    if (s.status === 'IN_PROGRESS') return { status: { id: 'IN_PROGRESS' } };
    if (s.status === 'COMPLETED') return { status: { id: 'COMPLETED' }, operation: { checkpointId: s.checkpointId } };
    return {
      status: { id: 'COMPLETED' },
      operation: {
        ...(s.checkpointId !== undefined ? { checkpointId: s.checkpointId } : {}),
        'failure-cause': { class: 'org.apache.flink.runtime.checkpoint.CheckpointException', 'stack-trace': s.failureCause },
      },
    };
  });
};
