// The Fastify factory for the REST API (rest.port). Plugins with the routes
// live in app/http/rest/; this file only sets what every REST route shares:
// the logger, body limit, Flink-shaped errors and shutdown behaviour.
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { errorHandler, notFoundHandler } from './errors.js';

export interface RestServerOptions {
  readonly logger: Logger;
  /** rest.server.max-content-length */
  readonly bodyLimitBytes: number;
}

export function createRestServer(options: RestServerOptions): FastifyInstance {
  const app = Fastify({
    // pino's Logger is Fastify's logger; only the generic parameters differ.
    loggerInstance: options.logger.child({ server: 'rest' }) as FastifyBaseLogger,
    bodyLimit: options.bodyLimitBytes,
    // Requests arriving while closing get 503 (Fastify's default, kept on
    // purpose: load balancers retry elsewhere); idle keep-alive sockets are
    // closed so shutdown does not wait for clients.
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    routerOptions: { ignoreTrailingSlash: true },
  });
  app.setNotFoundHandler(notFoundHandler);
  app.setErrorHandler(errorHandler);
  return app;
}
