import t from 'tap';
import Fastify from 'fastify';
import { ManualClock } from '../../../app/cluster/clock.js';
import { JobCheckpointStore } from '../../../app/checkpoints/checkpoint-store.js';
import { CheckpointCoordinator } from '../../../app/checkpoints/coordinator.js';
import { BUILTIN_CHECKPOINT_DEFAULTS, resolveCheckpointSettings } from '../../../app/checkpoints/settings.js';
import { checkpointsRest } from '../../../app/http/rest/checkpoints.js';
import { FakeGateway, MemoryFs, settle } from '../../checkpoints/fakes.js';

const JOB = 'c'.repeat(32);

async function setup(interval: number | undefined) {
  const clock = new ManualClock();
  const store = new JobCheckpointStore({ fs: new MemoryFs(), jobDir: `/d/jobs/${JOB}`, jobId: JOB, retained: 1 });
  store.markFresh();
  const coordinator = new CheckpointCoordinator({
    jobId: JOB,
    settings: resolveCheckpointSettings(interval ? { interval } : undefined, BUILTIN_CHECKPOINT_DEFAULTS),
    clock,
    gateway: new FakeGateway(),
    store,
    onFailover: () => undefined,
  });
  const app = Fastify();
  await app.register(checkpointsRest, { checkpoints: { coordinator: (id) => (id === JOB ? coordinator : undefined) } });
  return { app, coordinator, clock };
}

t.test('statistics, config, details and manual trigger over REST', async (t) => {
  const { app, coordinator } = await setup(500);
  t.teardown(() => app.close());

  t.equal((await app.inject({ method: 'GET', url: `/jobs/${'0'.repeat(32)}/checkpoints` })).statusCode, 404);
  t.equal((await app.inject({ method: 'GET', url: '/jobs/nope/checkpoints' })).statusCode, 400);

  let res = await app.inject({ method: 'POST', url: `/jobs/${JOB}/checkpoints` });
  t.equal(res.statusCode, 409, 'not running');
  t.match(res.json().errors[0], /not running/);

  coordinator.start([{ executionAttemptId: 'a0', taskManagerId: 'tm', vertexId: 'v', subtaskIndex: 0 }]);
  res = await app.inject({ method: 'POST', url: `/jobs/${JOB}/checkpoints`, headers: { 'content-type': 'application/json' }, payload: '{"checkpointType":"FULL"}' });
  t.equal(res.statusCode, 202);
  const requestId = res.json()['request-id'] as string;
  t.match(requestId, /^[0-9a-f]{32}$/);
  res = await app.inject({ method: 'POST', url: `/jobs/${JOB}/checkpoints`, headers: { 'content-type': 'application/json' }, payload: '{"bogus":1}' });
  t.equal(res.statusCode, 400);
  await settle();
  t.same((await app.inject({ method: 'GET', url: `/jobs/${JOB}/checkpoints/${requestId}` })).json(), { status: { id: 'IN_PROGRESS' } });
  coordinator.acknowledge([{ checkpointId: 1, executionAttemptId: 'a0', stateHandle: 'h', stateSizeBytes: 42 }]);
  await settle();
  t.same((await app.inject({ method: 'GET', url: `/jobs/${JOB}/checkpoints/${requestId}` })).json(), { status: { id: 'COMPLETED' }, operation: { checkpointId: 1 } });

  const stats = (await app.inject({ method: 'GET', url: `/jobs/${JOB}/checkpoints` })).json();
  t.same(stats.counts, { restored: 0, total: 1, in_progress: 0, completed: 1, failed: 0 });
  t.equal(stats.latest.completed.state_size, 42);
  t.equal(stats.history.length, 1);

  const cfg = await app.inject({ method: 'GET', url: `/jobs/${JOB}/checkpoints/config` });
  t.equal(cfg.statusCode, 200);
  t.equal(cfg.json().interval, 500);

  const det = await app.inject({ method: 'GET', url: `/jobs/${JOB}/checkpoints/details/1` });
  t.equal(det.statusCode, 200);
  t.same(Object.keys(det.json().tasks), ['v']);
  t.equal((await app.inject({ method: 'GET', url: `/jobs/${JOB}/checkpoints/details/99` })).statusCode, 404);
  t.equal((await app.inject({ method: 'GET', url: `/jobs/${JOB}/checkpoints/details/x1` })).statusCode, 400);
  coordinator.stop('end');
});

t.test('config is 404 when periodic checkpointing is off', async (t) => {
  const { app } = await setup(undefined);
  t.teardown(() => app.close());
  const res = await app.inject({ method: 'GET', url: `/jobs/${JOB}/checkpoints/config` });
  t.equal(res.statusCode, 404);
  t.match(res.json().errors[0], /not enabled/);
});
