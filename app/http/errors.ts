// Error answers in Apache Flink's REST shape, `{"errors": ["..."]}`, so that
// Flink-aware tooling and people read them as they would Flink's.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';

export interface FlinkErrorBody {
  errors: string[];
}

/** 404 for unknown routes, like Flink: `{"errors": ["Not found: /path"]}`. */
export function notFoundHandler(request: FastifyRequest, reply: FastifyReply): void {
  const path = request.url.split('?')[0] ?? request.url;
  void reply.code(404).send({ errors: [`Not found: ${path}`] } satisfies FlinkErrorBody);
}

/**
 * Client errors (validation, bad JSON, too large) keep their status and say
 * what was wrong; anything else is a 500 whose details stay in the log.
 */
export function errorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const status = error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 600 ? error.statusCode : 500;
  if (status >= 500) {
    request.log.error({ err: error }, 'request failed');
    void reply.code(status).send({ errors: ['Internal server error.', error.message] } satisfies FlinkErrorBody);
    return;
  }
  const where = error.validationContext !== undefined ? `${error.validationContext}: ` : '';
  void reply.code(status).send({ errors: [`${where}${error.message}`] } satisfies FlinkErrorBody);
}
