// Bearer-token authentication for an RPC Fastify instance: every route,
// including unknown paths, answers 401 before the body is read.
import type { FastifyInstance } from 'fastify';
import { bearerToken, createTokenVerifier } from './token.js';

export function installBearerAuth(app: FastifyInstance, token: string): void {
  const verify = createTokenVerifier(token);
  // onRequest runs before body parsing: an unauthenticated peer cannot make us
  // buffer its body.
  app.addHook('onRequest', async (request, reply) => {
    const header = request.headers.authorization;
    if (header === undefined) {
      return reply
        .code(401)
        .header('www-authenticate', 'Bearer realm="jobmanager-rpc"')
        .send({ errors: ['missing Authorization header; send "Authorization: Bearer <token>" (see jobmanager.rpc.auth.token / jobmanager.rpc.auth.token-file)'] });
    }
    if (!verify(bearerToken(header))) {
      return reply
        .code(401)
        .header('www-authenticate', 'Bearer realm="jobmanager-rpc", error="invalid_token"')
        .send({ errors: ['invalid bearer token'] });
    }
  });
}
