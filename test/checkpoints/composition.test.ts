// The checkpoint wiring of the composition root (in process, no sockets):
// an unusable storage directory refuses createJobManager with a ConfigError,
// the checkpoint REST routes answer under / and /v1, and a submitted job's
// JobGraph is on disk by the time POST /jobs answers 202.
import t from 'tap';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../../app/config/errors.js';
import { buildTestJobManager } from '../helpers/jobmanager.js';

t.test('unusable storage directory -> ConfigError naming it', async (t) => {
  const dir = t.testdir();
  writeFileSync(join(dir, 'file'), 'x');
  const bad = join(dir, 'file', 'data');
  const err = await buildTestJobManager(t.teardown.bind(t), { argv: [`--jobmanager.storage.dir=${bad}`] }).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.ok(err instanceof ConfigError, 'ConfigError (exit 78)');
  t.match((err as Error).message, `jobmanager.storage.dir (${bad}) is not a writable directory (ENOTDIR)`);
});

t.test('checkpoint routes under / and /v1; JobGraph durable before 202', async (t) => {
  const dir = t.testdir();
  const { jobManager } = await buildTestJobManager(t.teardown.bind(t), { argv: [`--jobmanager.storage.dir=${dir}`] });
  await jobManager.start({ listen: false });
  for (const prefix of ['', '/v1']) {
    const res = await jobManager.rest.inject({ method: 'GET', url: `${prefix}/jobs/${'0'.repeat(32)}/checkpoints` });
    t.equal(res.statusCode, 404, `${prefix || '/'}: unknown job`);
  }
  const submit = await jobManager.rest.inject({
    method: 'POST',
    url: '/jobs',
    payload: { name: 'j', vertices: [{ id: 'a', name: 'A', parallelism: 1 }], edges: [], checkpointing: { interval: 1000 } },
  });
  t.equal(submit.statusCode, 202);
  const jobid = submit.json().jobid as string;
  t.ok(existsSync(join(dir, 'jobs', jobid, 'jobgraph.json')), 'JobGraph on disk when 202 is sent');
  const stats = await jobManager.rest.inject({ method: 'GET', url: `/v1/jobs/${jobid}/checkpoints` });
  t.equal(stats.statusCode, 200);
  t.same(stats.json().counts, { restored: 0, total: 0, in_progress: 0, completed: 0, failed: 0 });
  const cfg = await jobManager.rest.inject({ method: 'GET', url: `/jobs/${jobid}/checkpoints/config` });
  t.equal(cfg.json().interval, 1000);
  const trig = await jobManager.rest.inject({ method: 'POST', url: `/jobs/${jobid}/checkpoints` });
  t.equal(trig.statusCode, 409, 'no TaskManagers: tasks not running, manual trigger refused');
  // Before the test directory is removed: the job's status writes are still in flight.
  await jobManager.close();
});
