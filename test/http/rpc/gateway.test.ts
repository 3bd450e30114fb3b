// The undici gateway's retry policy against a scripted TaskManager endpoint.
import t from 'tap';
import Fastify from 'fastify';
import { HttpTaskExecutorGateway } from '../../../app/http/rpc/gateway.js';

async function scriptedTaskManager(statuses: number[]) {
  const app = Fastify();
  const seen: { url: string; auth: string | undefined; body: unknown }[] = [];
  app.post('/v1/taskmanagers/:id/tasks/:op', async (request, reply) => {
    seen.push({ url: request.url, auth: request.headers.authorization, body: request.body });
    const status = statuses.shift() ?? 200;
    if (status === 503) reply.header('retry-after', '0');
    return reply.code(status).send(status === 200 ? { canceled: 1, unknown: 0 } : { errors: [`scripted ${status}`] });
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  return { app, seen, url: `http://127.0.0.1:${address.port}` };
}

t.test('503 and 502 are retried; the call then succeeds with the same body and token', async (t) => {
  const tm = await scriptedTaskManager([503, 502]);
  const gateway = new HttpTaskExecutorGateway({ token: 'tok', rpcAddressOf: () => tm.url, retryMinDelayMs: 1 });
  t.teardown(async () => { await gateway.close(); await tm.app.close(); });
  await gateway.cancelTasks('tm-a', ['e1']);
  t.equal(tm.seen.length, 3);
  t.ok(tm.seen.every((s) => s.auth === 'Bearer tok' && s.url === '/v1/taskmanagers/tm-a/tasks/cancel'));
  t.same(tm.seen.map((s) => s.body), [1, 2, 3].map(() => ({ executionAttemptIds: ['e1'] })));
});

t.test('4xx is not retried and surfaces the TaskManager\'s errors', async (t) => {
  const tm = await scriptedTaskManager([400]);
  const gateway = new HttpTaskExecutorGateway({ token: 'tok', rpcAddressOf: () => tm.url, retryMinDelayMs: 1 });
  t.teardown(async () => { await gateway.close(); await tm.app.close(); });
  await t.rejects(gateway.cancelTasks('tm-a', ['e']), { statusCode: 400, taskManagerId: 'tm-a', message: /answered 400: scripted 400/ });
  t.equal(tm.seen.length, 1);
});

t.test('retries are bounded; an unreachable TaskManager rejects with the cause', async (t) => {
  const tm = await scriptedTaskManager([503, 503, 503, 503, 503, 503]);
  const gateway = new HttpTaskExecutorGateway({ token: 'tok', rpcAddressOf: () => tm.url, retryMinDelayMs: 1, maxRetries: 2 });
  await t.rejects(gateway.cancelTasks('tm-a', ['e']), { name: 'TaskExecutorGatewayError' });
  t.equal(tm.seen.length, 3, 'first try + 2 retries');
  await tm.app.close();
  await t.rejects(gateway.cancelTasks('tm-a', ['e']), { name: 'TaskExecutorGatewayError', statusCode: undefined });
  await gateway.close();
});

t.test('large batches are split; a new address replaces the pool', async (t) => {
  const tm = await scriptedTaskManager([]);
  let address = tm.url;
  const gateway = new HttpTaskExecutorGateway({ token: 'tok', rpcAddressOf: () => address, maxBatch: 2 });
  t.teardown(async () => { await gateway.close(); await tm.app.close(); });
  await gateway.cancelTasks('tm-a', ['1', '2', '3', '4', '5']);
  t.same(tm.seen.map((s) => (s.body as { executionAttemptIds: string[] }).executionAttemptIds), [['1', '2'], ['3', '4'], ['5']]);
  address = tm.url.replace('127.0.0.1', 'localhost');
  await gateway.cancelTasks('tm-a', ['6']);
  t.equal(gateway.openPools, 1);
});
