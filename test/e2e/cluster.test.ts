// The "done when", with real processes: a JobManager (bin/jobmanager)
// and two TaskManager simulator processes. A 3-vertex job runs, the REST API
// shows Flink's field names with consistent counts, cancel frees all slots;
// kill -9 of one simulator makes its TaskManagers disappear, the job restarts
// on the remaining slots and /exceptions names the lost TaskManager.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { distMissingReason, startJobManager, startSimulator, until, type RunningJobManager } from './cluster-harness.js';

const missing = distMissingReason();
if (missing !== undefined) {
  if (process.env['CI']) throw new Error(missing);
  t.plan(0, `needs a build: ${missing}`);
} else {
  const job = (parallelism: [number, number, number]) => ({
    name: 'e2e-pipeline',
    vertices: [
      { id: 'source', name: 'Source', parallelism: parallelism[0] },
      { id: 'map', name: 'Map', parallelism: parallelism[1] },
      { id: 'sink', name: 'Sink', parallelism: parallelism[2] },
    ],
    edges: [
      { source: 'source', target: 'map', distribution: 'POINTWISE' },
      { source: 'map', target: 'sink', distribution: 'ALL_TO_ALL' },
    ],
    restartStrategy: { type: 'fixed-delay', attempts: 10, delay: 200 },
  });

  const jobState = async (jm: RunningJobManager, jobid: string) => (await jm.get(`/jobs/${jobid}`)).body.state as string;

  t.test('two simulators, a 3-vertex job RUNNING, Flink shapes with consistent counts, cancel frees all slots', async (t) => {
    // No TaskManager loss is wanted here: a longer timeout keeps a busy machine from causing one.
    const jm = await startJobManager(t.teardown.bind(t), ['--heartbeat.timeout=10s']);
    startSimulator(t.teardown.bind(t), jm, { idPrefix: 'sim-a', count: 2, slots: 2 });
    startSimulator(t.teardown.bind(t), jm, { idPrefix: 'sim-b', count: 2, slots: 2 });
    await until('4 TaskManagers registered', async () => ((await jm.get('/overview')).body.taskmanagers === 4 ? true : undefined));

    // The generated token: owner-only file, never in the log; RPC refuses calls without it.
    const tokenFile = join(jm.storageDir, 'rpc-token');
    t.equal(statSync(tokenFile).mode & 0o777, 0o600, 'rpc-token is mode 0600');
    const token = readFileSync(tokenFile, 'utf8').trim();
    t.notOk(jm.launched.stdout().includes(token), 'the token is not logged');
    t.match(jm.launched.stdout(), /generated the TaskManager RPC token into .*rpc-token/);
    for (const authorization of [undefined, 'Bearer wrong']) {
      const res = await fetch(`${jm.rpcUrl}/v1/taskmanagers/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
        body: JSON.stringify({ taskManagerId: 'intruder', rpcAddress: 'http://127.0.0.1:1', numberOfSlots: 100, resources: {} }),
      });
      t.equal(res.status, 401, `RPC with ${authorization ?? 'no token'} -> 401`);
    }

    const submit = await jm.send('POST', '/jobs', job([2, 2, 1]));
    t.equal(submit.status, 202);
    const { jobid, jobUrl } = submit.body;
    t.match(jobid, /^[0-9a-f]{32}$/);
    t.equal(jobUrl, `/jobs/${jobid}`);
    await until('job RUNNING', async () => ((await jobState(jm, jobid)) === 'RUNNING' ? true : undefined));
    // All 5 subtasks report RUNNING (the job may be RUNNING a moment before the last report).
    await until('5 tasks running', async () => ((await jm.get('/jobs/overview')).body.jobs[0].tasks.running === 5 ? true : undefined));

    const overview = (await jm.get('/overview')).body;
    t.match(overview, {
      taskmanagers: 4, 'slots-total': 8, 'slots-available': 6,
      'jobs-running': 1, 'jobs-finished': 0, 'jobs-cancelled': 0, 'jobs-failed': 0,
      'flink-version': String, 'flink-commit': String,
    }, '/overview: slot sharing puts 5 subtasks into 2 slots');

    t.same((await jm.get('/jobs')).body, { jobs: [{ id: jobid, status: 'RUNNING' }] });

    const jobsOverview = (await jm.get('/jobs/overview')).body;
    t.equal(jobsOverview.jobs.length, 1);
    t.match(jobsOverview.jobs[0], {
      jid: jobid, name: 'e2e-pipeline', state: 'RUNNING', 'start-time': Number, 'end-time': -1, duration: Number, 'last-modification': Number,
      tasks: { running: 5, total: 5, failed: 0, canceled: 0, finished: 0, created: 0, scheduled: 0, deploying: 0, initializing: 0, canceling: 0, reconciling: 0 },
    });

    const details = (await jm.get(`/jobs/${jobid}`)).body;
    t.match(details, {
      jid: jobid, name: 'e2e-pipeline', isStoppable: false, state: 'RUNNING', 'start-time': Number, 'end-time': -1,
      duration: Number, maxParallelism: Number, now: Number, timestamps: { RUNNING: Number }, 'status-counts': { RUNNING: 3 }, // Flink counts vertices here
      plan: { jid: jobid, nodes: Array },
    });
    t.same(details.vertices.map((v: { name: string; parallelism: number; status: string }) => [v.name, v.parallelism, v.status]),
      [['Source', 2, 'RUNNING'], ['Map', 2, 'RUNNING'], ['Sink', 1, 'RUNNING']]);
    t.equal(details.vertices.reduce((n: number, v: { tasks: { RUNNING: number } }) => n + v.tasks.RUNNING, 0), 5);

    const tms = (await jm.get('/taskmanagers')).body.taskmanagers as { id: string; slotsNumber: number; freeSlots: number; path: string; timeSinceLastHeartbeat: number; hardware: object }[];
    t.same(tms.map((x) => x.id).sort(), ['sim-a-0', 'sim-a-1', 'sim-b-0', 'sim-b-1']);
    for (const tm of tms) t.match(tm, { id: String, path: /^http:\/\/127\.0\.0\.1:\d+$/, dataPort: Number, slotsNumber: 2, freeSlots: Number, timeSinceLastHeartbeat: Number, hardware: Object, totalResource: Object, freeResource: Object, memoryConfiguration: Object });
    t.equal(tms.reduce((n, x) => n + x.slotsNumber, 0), overview['slots-total']);
    t.equal(tms.reduce((n, x) => n + x.freeSlots, 0), overview['slots-available']);

    const cancel = await jm.send('PATCH', `/jobs/${jobid}?mode=cancel`);
    t.equal(cancel.status, 202);
    t.same(cancel.body, {});
    await until('job CANCELED', async () => ((await jobState(jm, jobid)) === 'CANCELED' ? true : undefined));
    const after = await until('all slots free', async () => {
      const o = (await jm.get('/overview')).body;
      return o['slots-available'] === 8 ? o : undefined;
    });
    t.match(after, { 'jobs-running': 0, 'jobs-cancelled': 1, 'slots-total': 8 });
    const tmsAfter = (await jm.get('/taskmanagers')).body.taskmanagers as { slotsNumber: number; freeSlots: number }[];
    t.ok(tmsAfter.every((x) => x.freeSlots === x.slotsNumber), 'every TaskManager has all its slots free');
    t.match((await jm.get('/jobs/overview')).body.jobs[0], { state: 'CANCELED', 'end-time': Number, tasks: { running: 0, canceled: 5 } });
  });

  t.test('kill -9 of one simulator: its TaskManagers leave, the job restarts on the others, /exceptions names the cause', async (t) => {
    const jm = await startJobManager(t.teardown.bind(t));
    const sims = [
      startSimulator(t.teardown.bind(t), jm, { idPrefix: 'sim-a', count: 2, slots: 2 }),
      startSimulator(t.teardown.bind(t), jm, { idPrefix: 'sim-b', count: 2, slots: 2 }),
    ];
    await until('4 TaskManagers registered', async () => ((await jm.get('/overview')).body.taskmanagers === 4 ? true : undefined));

    // 3 slots needed: the 4 slots left after losing one process are enough.
    const { jobid } = (await jm.send('POST', '/jobs', job([3, 3, 2]))).body;
    await until('8 tasks running', async () => ((await jm.get('/jobs/overview')).body.jobs[0].tasks.running === 8 ? true : undefined));

    // Kill the simulator that holds most of the job's slots, so the job must restart.
    const tms = (await jm.get('/taskmanagers')).body.taskmanagers as { id: string; slotsNumber: number; freeSlots: number }[];
    const used = (prefix: string) => tms.filter((x) => x.id.startsWith(prefix)).reduce((n, x) => n + x.slotsNumber - x.freeSlots, 0);
    const [victim, survivor] = used('sim-a') >= used('sim-b') ? [sims[0]!, sims[1]!] : [sims[1]!, sims[0]!];
    const victimPrefix = victim.idPrefix;
    const survivorsPrefix = survivor.idPrefix;
    t.ok(used(victimPrefix) > 0, `the killed simulator (${victimPrefix}) runs part of the job`);
    victim.child.kill('SIGKILL');

    const remaining = await until('the killed TaskManagers leave /taskmanagers', async () => {
      const list = (await jm.get('/taskmanagers')).body.taskmanagers as { id: string }[];
      return list.some((x) => x.id.startsWith(victimPrefix)) ? undefined : list;
    });
    t.same(remaining.map((x) => x.id).sort(), [`${survivorsPrefix}-0`, `${survivorsPrefix}-1`]);
    t.match((await jm.get('/overview')).body, { taskmanagers: 2, 'slots-total': 4 });

    await until('job RESTARTING then RUNNING again', async () => {
      const d = (await jm.get(`/jobs/${jobid}`)).body;
      const tasks = (await jm.get('/jobs/overview')).body.jobs[0].tasks;
      return d.timestamps.RESTARTING > 0 && d.state === 'RUNNING' && tasks.running === 8 ? true : undefined;
    });
    const details = (await jm.get(`/jobs/${jobid}`)).body;
    t.ok(details.timestamps.RESTARTING > 0, 'the job went through RESTARTING');
    t.equal(details.state, 'RUNNING');
    const overview = (await jm.get('/overview')).body;
    t.equal(overview['slots-available'], 1, 'the restarted job holds 3 of the 4 remaining slots');

    const exceptions = (await jm.get(`/jobs/${jobid}/exceptions`)).body;
    t.match(exceptions['root-exception'], new RegExp(`TaskManager with id ${victimPrefix}-\\d`), 'root exception names the lost TaskManager');
    t.match(exceptions['root-exception'], /heartbeat/i, 'and says it timed out');
    t.ok(exceptions.exceptionHistory.entries.some((e: { taskManagerId: string | null }) => e.taskManagerId?.startsWith(victimPrefix)), 'history entry carries the TaskManager id');
  });
}
