// Issue 4 "done when", with real processes: a JobManager (bin/jobmanager) and
// two TaskManager simulator processes. A job with a 300 ms checkpoint
// interval completes checkpoints visible in Flink's REST shapes; kill -9 of
// the simulator hosting its tasks makes the job restart, and the simulator
// that runs the new attempts reports restoring from exactly the latest
// checkpoint completed before the failure. An unusable storage directory
// refuses the boot (exit 78) naming the path.
import t from 'tap';
import { join } from 'node:path';
import { launch } from '../helpers/launcher.js';
import { distMissingReason, startJobManager, startSimulator, until, type RunningSimulator } from './cluster-harness.js';

const missing = distMissingReason();
if (missing !== undefined) {
  if (process.env['CI']) throw new Error(missing);
  t.plan(0, `needs a build: ${missing}`);
} else {
  const JOB = {
    name: 'e2e-checkpointed',
    vertices: [
      { id: 'source', name: 'Source', parallelism: 2 },
      { id: 'sink', name: 'Sink', parallelism: 2 },
    ],
    edges: [{ source: 'source', target: 'sink', distribution: 'ALL_TO_ALL' }],
    checkpointing: { interval: 300, timeout: 5000, retained: 2 },
    restartStrategy: { type: 'fixed-delay', attempts: 10, delay: 200 },
  };

  interface RestoredLine {
    event: string;
    taskManagerId: string;
    jobId: string;
    jobVertexId: string;
    subtaskIndex: number;
    executionAttemptId: string;
    checkpointId: number;
    stateHandle?: string;
  }
  const restoredLines = (sim: RunningSimulator, jobId: string): RestoredLine[] =>
    sim
      .output()
      .split('\n')
      .flatMap((l) => {
        try {
          const r = JSON.parse(l) as RestoredLine;
          return r.event === 'task-restored' && r.jobId === jobId ? [r] : [];
        } catch {
          return [];
        }
      });

  t.test('300 ms checkpoints complete; kill -9 of a simulator restores from exactly the latest completed checkpoint', async (t) => {
    const jm = await startJobManager(t.teardown.bind(t), ['--web.checkpoints.history=100']);
    const sims = [
      startSimulator(t.teardown.bind(t), jm, { idPrefix: 'sim-a', count: 1, slots: 2 }),
      startSimulator(t.teardown.bind(t), jm, { idPrefix: 'sim-b', count: 1, slots: 2 }),
    ];
    await until('2 TaskManagers registered', async () => ((await jm.get('/overview')).body.taskmanagers === 2 ? true : undefined));
    const submit = await jm.send('POST', '/jobs', JOB);
    t.equal(submit.status, 202);
    const jobid: string = submit.body.jobid;

    const stats = await until('5 completed checkpoints', async () => {
      const s = (await jm.get(`/jobs/${jobid}/checkpoints`)).body;
      return s.counts?.completed >= 5 ? s : undefined;
    });
    t.ok(stats.counts.completed >= 5, `${stats.counts.completed} completed checkpoints`);
    t.same(Object.keys(stats).sort(), ['counts', 'history', 'latest', 'summary']);
    t.match(stats.latest.completed, { className: '.CompletedCheckpointStatistics', status: 'COMPLETED', num_subtasks: 4, num_acknowledged_subtasks: 4 });
    t.ok(stats.latest.completed.state_size > 0, 'state sizes reported by the simulators');
    t.match(stats.latest.completed.external_path, new RegExp(`${jobid}/checkpoints/chk-\\d+\\.json$`));
    t.ok(stats.summary.end_to_end_duration.max >= stats.summary.end_to_end_duration.min);
    const config = await jm.get(`/v1/jobs/${jobid}/checkpoints/config`);
    t.equal(config.status, 200);
    t.match(config.body, { interval: 300, timeout: 5000, max_concurrent: 1, mode: 'exactly_once' });
    const details = await jm.get(`/jobs/${jobid}/checkpoints/details/${stats.latest.completed.id}`);
    t.equal(details.status, 200);
    t.equal(Object.keys(details.body.tasks).length, 2, 'per-vertex task statistics');

    const manual = await jm.send('POST', `/jobs/${jobid}/checkpoints`);
    t.equal(manual.status, 202);
    const requestId: string = manual.body['request-id'];
    const done = await until('manual checkpoint completed', async () => {
      const r = (await jm.get(`/jobs/${jobid}/checkpoints/${requestId}`)).body;
      return r.status?.id === 'COMPLETED' ? r : undefined;
    });
    t.type(done.operation.checkpointId, 'number', 'request id -> checkpoint id');

    // Which simulator hosts the tasks? Kill that one.
    const tms = (await jm.get('/taskmanagers')).body.taskmanagers as { id: string; freeSlots: number; slotsNumber: number }[];
    const busy = tms.filter((tm) => tm.freeSlots < tm.slotsNumber).map((tm) => tm.id);
    t.ok(busy.length >= 1);
    const victim = busy.some((id) => id.startsWith('sim-a')) ? sims[0]! : sims[1]!;
    const survivor = victim === sims[0] ? sims[1]! : sims[0]!;
    const before = (await jm.get(`/jobs/${jobid}/checkpoints`)).body.latest.completed.id as number;
    victim.child.kill('SIGKILL');

    const restored = await until(
      'job restored from a checkpoint',
      async () => {
        const s = (await jm.get(`/jobs/${jobid}/checkpoints`)).body;
        return s.latest.restored ? s : undefined;
      },
      300,
    );
    const restoredId: number = restored.latest.restored.id;
    const completedBeforeRestore = (restored.history as { id: number; status: string; trigger_timestamp: number }[])
      .filter((h) => h.status === 'COMPLETED' && h.trigger_timestamp < restored.latest.restored.restore_timestamp)
      .map((h) => h.id);
    const expected = Math.max(...completedBeforeRestore);
    t.equal(restoredId, expected, 'the JobManager restored from the latest completed checkpoint');
    t.ok(restoredId >= before, `not older than the latest completed seen before the kill (${before})`);

    const lines = await until('the surviving simulator reports its restores', async () => {
      const l = restoredLines(survivor, jobid);
      return l.length >= 4 ? l : undefined;
    });
    t.same([...new Set(lines.map((l) => l.checkpointId))], [expected], `every new attempt restored from checkpoint ${expected}`);
    for (const l of lines) {
      t.match(l.stateHandle, new RegExp(`^sim://sim-[ab]-0/${jobid}/${l.jobVertexId}/${l.subtaskIndex}/chk-${expected}$`), 'with the handle acknowledged for that subtask');
    }
    await until('job RUNNING again with new checkpoints', async () => {
      const s = (await jm.get(`/jobs/${jobid}/checkpoints`)).body;
      return s.latest.completed?.id > expected && (await jm.get(`/jobs/${jobid}`)).body.state === 'RUNNING' ? true : undefined;
    });
  });

  t.test('an unusable storage directory refuses the boot with exit 78 naming the path', async (t) => {
    const dir = t.testdir({ 'plain-file': 'x' });
    const bad = join(dir, 'plain-file', 'data');
    const launched = launch({ args: ['--rest.port=0', '--jobmanager.rpc.port=0', `--jobmanager.storage.dir=${bad}`, '--jobmanager.process.memory.size=512m'] });
    const exit = await launched.exit;
    t.equal(exit.code, 78);
    const lines = exit.stderr.trim().split('\n');
    t.equal(lines.length, 1, 'one line');
    t.match(lines[0], `jobmanager.storage.dir (${bad}) is not a writable directory (ENOTDIR)`);
  });
}
