// POST /jobs answers 202 only once the JobGraph is durable; when it cannot be
// stored the job is cancelled and the client gets 503 with the reason.
import t from 'tap';
import Fastify from 'fastify';
import { jobsRest } from '../../../app/http/rest/jobs.js';
import type { DispatcherApi } from '../../../app/jobs/types.js';

function fakeDispatcher(cancelled: string[]): DispatcherApi {
  return {
    submitJob: () => ({ jobId: 'a'.repeat(32) }),
    cancelJob: (id: string) => {
      cancelled.push(id);
      return 'CANCELLING';
    },
  } as unknown as DispatcherApi;
}

t.test('202 after the JobGraph is durable', async (t) => {
  const order: string[] = [];
  const app = Fastify();
  await app.register(jobsRest, {
    dispatcher: fakeDispatcher([]),
    whenJobPersisted: async () => {
      await new Promise((r) => setTimeout(r, 20));
      order.push('persisted');
    },
  });
  t.teardown(() => app.close());
  const res = await app.inject({ method: 'POST', url: '/jobs', payload: { name: 'x' } });
  order.push('answered');
  t.equal(res.statusCode, 202);
  t.same(order, ['persisted', 'answered']);
});

t.test('503 and the job cancelled when the JobGraph cannot be stored', async (t) => {
  const cancelled: string[] = [];
  const app = Fastify();
  await app.register(jobsRest, {
    dispatcher: fakeDispatcher(cancelled),
    whenJobPersisted: async () => {
      throw new Error('could not write /data/jobs/aaa/jobgraph.json (write failed: ENOSPC): no space left on device');
    },
  });
  t.teardown(() => app.close());
  const res = await app.inject({ method: 'POST', url: '/jobs', payload: { name: 'x' } });
  t.equal(res.statusCode, 503);
  t.match(res.json().errors[0], /JobGraph could not be stored .*ENOSPC/);
  t.same(cancelled, ['a'.repeat(32)]);
});
