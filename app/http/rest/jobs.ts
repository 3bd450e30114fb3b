// Flink REST v1 job endpoints over the Dispatcher: submission (JSON JobGraph),
// listing, details, plan, exceptions, cancellation.
import type { FastifyPluginAsync } from 'fastify';
import type { DispatcherApi } from '../../jobs/types.js';
import { JobNotFoundError } from '../../jobs/errors.js';
import { JOB_ID_PATTERN, clusterRestErrorHandler } from './errors-domain.js';

export interface JobsRestOptions {
  readonly dispatcher: DispatcherApi;
  /** Resolves once the JobGraph is durable; the 202 is sent only then. */
  readonly whenJobPersisted?: (jobId: string) => Promise<void>;
}

interface JobParams {
  jobid: string;
}

function checkJobId(jobid: string): string[] | undefined {
  return JOB_ID_PATTERN.test(jobid)
    ? undefined
    : [`jobid must be 32 lowercase hex characters (a Flink JobID), got ${JSON.stringify(jobid.slice(0, 80))}`];
}

export const jobsRest: FastifyPluginAsync<JobsRestOptions> = async (app, { dispatcher, whenJobPersisted }) => {
  app.setErrorHandler(clusterRestErrorHandler(app.initialConfig.bodyLimit ?? 1048576));
  // A JobGraph is JSON: other content types get 415 instead of reaching the
  // validator as a string (Fastify parses text/plain by default).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, app.getDefaultJsonParser('error', 'error'));

  // An archived job evicted to stay within the memory plan's cache budget is named as such.
  const notFound = (jobid: string) => ({ errors: [dispatcher.missingJobReason?.(jobid) ?? new JobNotFoundError(jobid).message] });

  app.post('/jobs', async (request, reply) => {
    const { jobId } = dispatcher.submitJob(request.body);
    if (whenJobPersisted) {
      try {
        await whenJobPersisted(jobId);
      } catch (err) {
        // Not durable = not accepted: a restart would not know the job.
        dispatcher.cancelJob(jobId);
        return reply.code(503).send({ errors: [`job not accepted: its JobGraph could not be stored (${(err as Error).message})`] });
      }
    }
    return reply.code(202).send({ jobid: jobId, jobUrl: `/jobs/${jobId}` });
  });

  app.get('/jobs', async () => dispatcher.listJobs());

  app.get('/jobs/overview', async () => dispatcher.jobsOverview());

  app.get<{ Params: JobParams }>('/jobs/:jobid', async (request, reply) => {
    const { jobid } = request.params;
    const bad = checkJobId(jobid);
    if (bad) return reply.code(400).send({ errors: bad });
    return dispatcher.jobDetails(jobid) ?? reply.code(404).send(notFound(jobid));
  });

  app.get<{ Params: JobParams }>('/jobs/:jobid/plan', async (request, reply) => {
    const { jobid } = request.params;
    const bad = checkJobId(jobid);
    if (bad) return reply.code(400).send({ errors: bad });
    return dispatcher.jobPlan(jobid) ?? reply.code(404).send(notFound(jobid));
  });

  app.get<{ Params: JobParams; Querystring: { maxExceptions?: string } }>('/jobs/:jobid/exceptions', async (request, reply) => {
    const { jobid } = request.params;
    const bad = checkJobId(jobid);
    if (bad) return reply.code(400).send({ errors: bad });
    const raw = request.query.maxExceptions;
    let max: number | undefined;
    if (raw !== undefined) {
      if (!/^\d+$/.test(raw) || Number(raw) < 1) {
        return reply.code(400).send({ errors: [`maxExceptions must be a positive integer, got ${JSON.stringify(raw)}`] });
      }
      max = Number(raw);
    }
    return dispatcher.jobExceptions(jobid, max) ?? reply.code(404).send(notFound(jobid));
  });

  // Flink: PATCH /jobs/:jobid?mode=cancel -> 202 {}. `mode` is optional there
  // and "cancel" is the only mode this JobManager offers.
  app.patch<{ Params: JobParams; Querystring: { mode?: string } }>('/jobs/:jobid', async (request, reply) => {
    const { jobid } = request.params;
    const bad = checkJobId(jobid);
    if (bad) return reply.code(400).send({ errors: bad });
    const mode = request.query.mode;
    if (mode !== undefined && mode !== 'cancel') {
      return reply.code(400).send({ errors: [`mode must be "cancel", got ${JSON.stringify(mode)} (stop-with-savepoint is not supported)`] });
    }
    dispatcher.cancelJob(jobid); // throws JobNotFoundError -> 404
    return reply.code(202).send({});
  });
};
