// The error handler of the cluster REST plugins (jobs, overview,
// taskmanagers, metrics): Flink's `{"errors": [...]}` shape as everywhere on
// the REST port, with clearer messages for body problems (size limit, JSON,
// content type) and the domain's errors mapped to their statuses. Anything
// else falls through to the REST server's own handler.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { JobNotFoundError, JobValidationError } from '../../jobs/errors.js';
import { errorHandler } from '../errors.js';
import { answerForCarriedError, answerForFastifyError } from '../rpc/errors.js';

export function clusterRestErrorHandler(bodyLimitBytes: number) {
  return (error: FastifyError, request: FastifyRequest, reply: FastifyReply): void => {
    if (error instanceof JobValidationError) {
      void reply.code(400).send({ errors: error.errors });
      return;
    }
    if (error instanceof JobNotFoundError) {
      void reply.code(404).send({ errors: [error.message] });
      return;
    }
    const answer = answerForFastifyError(error, bodyLimitBytes, 'rest.server.max-content-length')
      ?? answerForCarriedError(error);
    if (answer !== undefined) {
      void reply.code(answer.statusCode).headers(answer.headers ?? {}).send({ errors: answer.errors });
      return;
    }
    errorHandler(error, request, reply);
  };
}

/** JobIDs and TaskManager-facing ids as Flink prints them: 32 lowercase hex. */
export const JOB_ID_PATTERN = /^[0-9a-f]{32}$/;
