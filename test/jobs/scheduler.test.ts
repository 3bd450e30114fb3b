// Dispatcher + JobMaster + ResourceManager driven by a manual clock and a fake gateway.
import t from 'tap';
import { Dispatcher } from '../../app/jobs/dispatcher.js';
import { JobNotFoundError, JobValidationError } from '../../app/jobs/errors.js';
import { THREE_VERTEX_JOB, harness } from './harness.js';

t.test('submit -> slots -> one deploy batch per TaskManager -> RUNNING', async (t) => {
  const h = harness();
  h.addTaskManager('tm-a', 2);
  h.addTaskManager('tm-b', 2);
  const statuses: string[] = [];
  h.dispatcher.onJobStatusChange((_id, s) => statuses.push(s));
  const { jobId } = h.dispatcher.submitJob(THREE_VERTEX_JOB);
  t.match(jobId, /^[0-9a-f]{32}$/);
  t.same(statuses, ['CREATED', 'RUNNING'], 'INITIALIZING -> CREATED -> RUNNING as Flink');
  const jm = h.dispatcher.jobMaster(jobId)!;
  let allRunning = 0;
  jm.onAllTasksRunning(() => allRunning++);
  t.equal(h.dispatcher.overview()['slots-available'], 0, '4 slots for max parallelism 4 (slot sharing)');
  await h.flush();
  t.equal(h.gateway.deployCalls.length, 2, 'one call per TaskManager');
  t.same(h.gateway.deployCalls.map((c) => c.descriptors.length), [6, 4], 'slots 0-1 on tm-a host 3 subtasks each; slots 2-3 on tm-b 2 each');
  const d = h.gateway.descriptors().find((x) => x.vertexName === 'Map' && x.subtaskIndex === 1)!;
  t.same(d.config, { 'sim.fail-after-ms': '100' }, 'vertex config travels');
  t.equal(d.parallelism, 4);
  t.equal(d.attemptNumber, 0);
  t.match(d.executionAttemptId, /^[0-9a-f]{32}$/);
  t.equal(d.inputs.length, 1);
  t.same(d.inputs[0]!.subtaskRange, [1, 2]);
  let details = h.dispatcher.jobDetails(jobId)!;
  t.equal(details['status-counts'].DEPLOYING, 3, 'three vertices DEPLOYING');
  t.equal(h.report(jobId, 'INITIALIZING'), 10);
  t.equal(allRunning, 0);
  t.equal(h.report(jobId, 'RUNNING'), 10);
  t.equal(allRunning, 1, 'all-running fired once');
  t.ok(jm.allTasksRunning());
  details = h.dispatcher.jobDetails(jobId)!;
  t.equal(details.state, 'RUNNING');
  t.same(details.vertices.map((v) => v.status), ['RUNNING', 'RUNNING', 'RUNNING']);
  t.same(details.vertices.map((v) => v.tasks.RUNNING), [4, 4, 2]);
  t.equal(details.vertices[0]!.id.length, 32);
  for (const f of ['jid', 'name', 'isStoppable', 'state', 'start-time', 'end-time', 'duration', 'maxParallelism', 'now', 'timestamps', 'vertices', 'status-counts', 'plan']) {
    t.ok(f in details, `details.${f}`);
  }
  t.equal(details['end-time'], -1);
  t.equal(details.plan.nodes.length, 3);
  t.same(details.plan.nodes[2]!.inputs![0]!.ship_strategy, 'REBALANCE');
  const overview = h.dispatcher.jobsOverview().jobs[0]!;
  t.equal(overview.tasks.running, 10);
  t.equal(overview.tasks.total, 10);
  t.same(h.dispatcher.listJobs(), { jobs: [{ id: jobId, status: 'RUNNING' }] });
  t.same(h.dispatcher.overview(), { taskmanagers: 2, 'slots-total': 4, 'slots-available': 0, 'jobs-running': 1, 'jobs-finished': 0, 'jobs-cancelled': 0, 'jobs-failed': 0 });
  const attempts = [...jm.currentAttempts()];
  t.equal(attempts.length, 10);
  t.ok(attempts.every((a) => a.state === 'RUNNING' && a.taskManagerId));
  // duplicate / stale / invalid updates are refused, nothing changes
  t.same(h.dispatcher.updateTaskExecutionState({ jobId, executionAttemptId: d.executionAttemptId, state: 'INITIALIZING' }), { applied: false, reason: 'invalid-transition' });
  t.same(h.dispatcher.updateTaskExecutionState({ jobId, executionAttemptId: 'f'.repeat(32), state: 'RUNNING' }), { applied: false, reason: 'unknown-attempt' });
  t.same(h.dispatcher.updateTaskExecutionState({ jobId: 'e'.repeat(32), executionAttemptId: d.executionAttemptId, state: 'RUNNING' }), { applied: false, reason: 'unknown-job' });
  h.dispatcher.close();
});

t.test('validation errors surface as JobValidationError; unknown jobs as NotFound/undefined', async (t) => {
  const h = harness();
  t.throws(() => h.dispatcher.submitJob({ vertices: [] }), JobValidationError);
  t.same(h.dispatcher.listJobs(), { jobs: [] }, 'nothing accepted');
  t.throws(() => h.dispatcher.cancelJob('0'.repeat(32)), JobNotFoundError);
  t.equal(h.dispatcher.jobDetails('0'.repeat(32)), undefined);
  t.equal(h.dispatcher.jobPlan('0'.repeat(32)), undefined);
  t.equal(h.dispatcher.jobExceptions('0'.repeat(32)), undefined);
});

t.test('cancel: CANCELLING -> tasks CANCELING -> CANCELED, all slots free, archived', async (t) => {
  const h = harness();
  h.addTaskManager('tm-a', 2);
  h.addTaskManager('tm-b', 2);
  const { jobId } = h.dispatcher.submitJob(THREE_VERTEX_JOB);
  await h.flush();
  h.report(jobId, 'RUNNING');
  const jm = h.dispatcher.runningJobMaster(jobId)!;
  let noLongerRunning = 0;
  jm.onTasksNoLongerRunning(() => noLongerRunning++);
  t.equal(h.dispatcher.cancelJob(jobId), 'CANCELLING');
  t.equal(noLongerRunning, 1);
  t.equal(h.dispatcher.jobDetails(jobId)!.vertices[0]!.tasks.CANCELING, 4);
  await h.flush();
  t.equal(h.gateway.cancelCalls.length, 2, 'one cancel call per TaskManager');
  t.equal(h.dispatcher.jobDetails(jobId)!.state, 'CANCELED');
  t.same(h.dispatcher.overview(), { taskmanagers: 2, 'slots-total': 4, 'slots-available': 4, 'jobs-running': 0, 'jobs-finished': 0, 'jobs-cancelled': 1, 'jobs-failed': 0 });
  t.equal(h.dispatcher.jobMaster(jobId), undefined, 'archived, JobMaster dropped');
  const details = h.dispatcher.jobDetails(jobId)!;
  t.ok(details['end-time'] > 0);
  t.same(details.vertices.map((v) => v.status), ['CANCELED', 'CANCELED', 'CANCELED']);
  t.equal(h.dispatcher.cancelJob(jobId), 'CANCELED', 'cancelling a terminal job is a no-op');
  t.equal(h.rm.getTaskManager('tm-a')!.allocatedSlots.length, 0);
});

t.test('cancel while waiting for slots frees the request', async (t) => {
  const h = harness();
  h.addTaskManager('tm-a', 1);
  const { jobId } = h.dispatcher.submitJob(THREE_VERTEX_JOB);
  t.equal(h.rm.pendingRequests(), 1);
  h.dispatcher.cancelJob(jobId);
  t.equal(h.dispatcher.listJobs().jobs[0]!.status, 'CANCELED', 'nothing deployed: CANCELED at once');
  t.equal(h.rm.pendingRequests(), 0);
  t.equal(h.clock.pendingTimers(), 0, 'slot timer cleared');
});

t.test('TaskManager loss -> RESTARTING -> RUNNING on the remaining slots, exception names the cause', async (t) => {
  const h = harness({}, { heartbeatIntervalMs: 1000, heartbeatTimeoutMs: 3000 });
  h.addTaskManager('tm-a', 4);
  h.addTaskManager('tm-b', 4);
  const { jobId } = h.dispatcher.submitJob(THREE_VERTEX_JOB);
  await h.flush();
  h.report(jobId, 'RUNNING');
  const jm = h.dispatcher.runningJobMaster(jobId)!;
  const onA = h.gateway.deployCalls.filter((c) => c.taskManagerId === 'tm-a').length;
  t.equal(onA, 1, 'all 4 slots on tm-a (fill first TaskManager)');
  // tm-a goes silent
  h.registrations.delete('tm-a');
  for (let i = 0; i < 4; i++) {
    h.clock.advance(1000);
    h.heartbeatAll();
    h.rm.checkHeartbeats();
  }
  t.same(h.rm.listTaskManagers().map((x) => x.id), ['tm-b']);
  t.equal(jm.status(), 'RESTARTING');
  const ex = h.dispatcher.jobExceptions(jobId)!;
  t.match(ex['root-exception'], /TaskManagerLostException: Heartbeat of TaskManager with id tm-a/);
  t.equal(ex.exceptionHistory.entries[0]!.taskManagerId, 'tm-a');
  t.equal(ex.exceptionHistory.entries[0]!.location, 'http://127.0.0.1:40000');
  await h.flush();
  // the restart waits for the delay (1000 ms)
  t.equal(jm.status(), 'RESTARTING');
  h.clock.advance(1000);
  t.equal(jm.status(), 'RUNNING');
  await h.flush();
  const latest = h.gateway.deployCalls.at(-1)!;
  t.equal(latest.taskManagerId, 'tm-b', 'redeployed on the remaining TaskManager');
  t.ok(latest.descriptors.every((d) => d.attemptNumber === 1));
  t.equal(h.report(jobId, 'RUNNING'), 10);
  t.ok(jm.allTasksRunning());
  t.equal(jm.restartCount(), 1);
  const timestamps = h.dispatcher.jobDetails(jobId)!.timestamps;
  t.ok(timestamps.RESTARTING > 0);
  h.dispatcher.close();
});

t.test('TaskManager loss with too few slots left: waits for slots, then runs when one registers', async (t) => {
  const h = harness();
  h.addTaskManager('tm-a', 4);
  const { jobId } = h.dispatcher.submitJob(THREE_VERTEX_JOB);
  await h.flush();
  h.report(jobId, 'RUNNING');
  h.rm.disconnectTaskManager('tm-a', 'process killed');
  const jm = h.dispatcher.runningJobMaster(jobId)!;
  t.equal(jm.status(), 'RESTARTING');
  h.clock.advance(1000);
  t.equal(jm.status(), 'RUNNING');
  t.ok(jm.isWaitingForSlots());
  t.equal(h.dispatcher.jobDetails(jobId)!.vertices[0]!.status, 'SCHEDULED');
  h.clock.advance(60_000);
  h.addTaskManager('tm-c', 2);
  t.ok(jm.isWaitingForSlots(), '2 of 4 slots is not enough (gang)');
  h.addTaskManager('tm-d', 2);
  t.notOk(jm.isWaitingForSlots());
  await h.flush();
  t.equal(h.report(jobId, 'RUNNING'), 10);
  t.ok(jm.allTasksRunning());
  h.dispatcher.close();
});

t.test('task failure restarts up to the attempts, then FAILED with slots released', async (t) => {
  const h = harness();
  h.addTaskManager('tm-a', 4);
  const { jobId } = h.dispatcher.submitJob(THREE_VERTEX_JOB); // fixed-delay, 2 attempts
  const jm = h.dispatcher.runningJobMaster(jobId)!;
  for (let round = 0; round < 3; round++) {
    await h.flush();
    h.report(jobId, 'RUNNING');
    const n = h.report(jobId, 'FAILED', (d) => d.vertexName === 'Map' && d.subtaskIndex === 2);
    t.equal(n, 1);
    if (round < 2) {
      t.equal(jm.status(), 'RESTARTING', `round ${round}: restarting`);
      await h.flush(); // cancel calls settle
      h.clock.advance(1000);
      t.equal(jm.status(), 'RUNNING');
    }
  }
  t.equal(jm.status(), 'FAILING');
  await h.flush();
  t.equal(h.dispatcher.listJobs().jobs[0]!.status, 'FAILED');
  const ex = h.dispatcher.jobExceptions(jobId)!;
  t.match(ex['root-exception'], /java.lang.RuntimeException: boom/);
  t.equal(ex.exceptionHistory.entries.length, 3);
  t.equal(ex.exceptionHistory.entries[0]!.taskName, 'Map (3/4)#2');
  t.equal(ex['all-exceptions'].length, 3);
  t.equal(h.dispatcher.overview()['jobs-failed'], 1);
  t.equal(h.rm.slotTotals().slotsAvailable, 4, 'slots released');
  t.equal(h.dispatcher.jobExceptions(jobId, 1)!.exceptionHistory.entries.length, 1);
  t.ok(h.dispatcher.jobExceptions(jobId, 1)!.exceptionHistory.truncated);
});

t.test('restartStrategy none: first failure fails the job', async (t) => {
  const h = harness();
  h.addTaskManager('tm-a', 4);
  const { jobId } = h.dispatcher.submitJob({ ...THREE_VERTEX_JOB, restartStrategy: { type: 'none' } });
  await h.flush();
  h.report(jobId, 'RUNNING');
  h.report(jobId, 'FAILED', (d) => d.subtaskIndex === 0 && d.vertexName === 'Sink');
  await h.flush();
  t.equal(h.dispatcher.listJobs().jobs[0]!.status, 'FAILED');
});

t.test('slot request timeout -> FAILED with NoResourceAvailableException', async (t) => {
  const h = harness({ slotRequestTimeoutMs: 300_000 });
  h.addTaskManager('tm-a', 1);
  const { jobId } = h.dispatcher.submitJob(THREE_VERTEX_JOB);
  h.clock.advance(299_999);
  t.equal(h.dispatcher.listJobs().jobs[0]!.status, 'RUNNING', 'still waiting');
  h.clock.advance(1);
  t.equal(h.dispatcher.listJobs().jobs[0]!.status, 'FAILED');
  const ex = h.dispatcher.jobExceptions(jobId)!;
  t.match(ex['root-exception'], /NoResourceAvailableException: .*needs 4 slot\(s\).*slot\.request\.timeout \(300000 ms\)/);
  t.equal(h.rm.pendingRequests(), 0);
  t.equal(h.rm.slotTotals().slotsAvailable, 1);
});

t.test('all tasks FINISHED -> job FINISHED', async (t) => {
  const h = harness();
  h.addTaskManager('tm-a', 4);
  const { jobId } = h.dispatcher.submitJob(THREE_VERTEX_JOB);
  await h.flush();
  h.report(jobId, 'RUNNING');
  h.report(jobId, 'FINISHED', (d) => d.vertexName !== 'Sink');
  t.equal(h.dispatcher.listJobs().jobs[0]!.status, 'RUNNING');
  h.report(jobId, 'FINISHED');
  const details = h.dispatcher.jobDetails(jobId)!;
  t.equal(details.state, 'FINISHED');
  t.equal(details.duration, details['end-time'] - details['start-time']);
  t.equal(h.dispatcher.overview()['jobs-finished'], 1);
  t.equal(h.rm.slotTotals().slotsAvailable, 4);
});

t.test('deployment to an unreachable TaskManager fails the tasks and restarts', async (t) => {
  const h = harness();
  h.addTaskManager('tm-a', 4);
  h.gateway.unreachable.add('tm-a');
  const { jobId } = h.dispatcher.submitJob(THREE_VERTEX_JOB);
  await h.flush();
  const jm = h.dispatcher.runningJobMaster(jobId)!;
  t.equal(jm.status(), 'RESTARTING');
  t.match(h.dispatcher.jobExceptions(jobId)!['root-exception'], /TaskDeploymentException: Could not deploy 10 task\(s\) to TaskManager tm-a: connect ECONNREFUSED/);
  h.gateway.unreachable.clear();
  h.clock.advance(1000);
  await h.flush();
  t.equal(h.report(jobId, 'RUNNING'), 10);
  h.dispatcher.close();
});

t.test('restore checkpoint provider feeds the next deployment', async (t) => {
  const h = harness();
  h.addTaskManager('tm-a', 4);
  const { jobId } = h.dispatcher.submitJob(THREE_VERTEX_JOB);
  await h.flush();
  h.report(jobId, 'RUNNING');
  const jm = h.dispatcher.jobMaster(jobId)!;
  jm.setRestoreCheckpoint((vertexId, subtask) => ({ checkpointId: 7, stateHandle: `${vertexId}/${subtask}` }));
  jm.failGlobally({ message: 'too many failed checkpoints' });
  t.equal(jm.status(), 'RESTARTING');
  await h.flush();
  h.clock.advance(1000);
  await h.flush();
  const last = h.gateway.deployCalls.at(-1)!.descriptors;
  t.ok(last.every((d) => d.restoreCheckpoint?.checkpointId === 7));
  t.equal(last[0]!.restoreCheckpoint!.stateHandle, `${last[0]!.jobVertexId}/${last[0]!.subtaskIndex}`);
  t.match(h.dispatcher.jobExceptions(jobId)!['root-exception'], /JobException: too many failed checkpoints/);
  h.dispatcher.close();
});

t.test('archive is bounded by archivedJobsMax', async (t) => {
  const h = harness({ archivedJobsMax: 2 });
  const ids = [0, 1, 2].map(() => h.dispatcher.submitJob(THREE_VERTEX_JOB).jobId);
  for (const id of ids) h.dispatcher.cancelJob(id);
  t.same(h.dispatcher.listJobs().jobs.map((j) => j.id), ids.slice(1));
});

t.test('prior attempts of a subtask are remembered, newest first, bounded', async (t) => {
  const h = harness({ attemptHistorySize: 2, defaultRestartStrategy: { type: 'fixed-delay', attempts: 5, delay: 10 } });
  h.addTaskManager('tm-a', 4);
  const { jobId } = h.dispatcher.submitJob({ vertices: [{ id: 'only', parallelism: 2 }] });
  const jm = h.dispatcher.runningJobMaster(jobId)!;
  for (let i = 0; i < 3; i++) {
    await h.flush();
    h.report(jobId, 'RUNNING');
    h.report(jobId, 'FAILED', (d) => d.subtaskIndex === 1);
    await h.flush();
    h.clock.advance(10);
  }
  const vertexId = jm.graph.vertices[0]!.jobVertexId;
  const prior = jm.priorAttempts(vertexId, 1)!;
  t.same(prior.map((p) => [p.attempt, p.status]), [[2, 'FAILED'], [1, 'FAILED']]);
  t.equal(prior[0]!.taskManagerId, 'tm-a');
  t.same(jm.priorAttempts(vertexId, 0)!.map((p) => p.status), ['CANCELED', 'CANCELED']);
  t.equal(jm.priorAttempts(vertexId, 2), undefined);
  t.equal(jm.priorAttempts('0'.repeat(32), 0), undefined);
  h.dispatcher.close();
});

t.test('admission hook: refuses before allocating, releases when the job is archived', async (t) => {
  const admitted = new Map<string, number>();
  const released: string[] = [];
  const h = harness();
  const dispatcher = new Dispatcher({
    clock: h.clock,
    resourceManager: h.rm,
    gateway: h.gateway,
    options: { slotRequestTimeoutMs: 1000, defaultRestartStrategy: { type: 'none' }, archivedJobsMax: 10, attemptHistorySize: 2, exceptionHistorySize: 4 },
    admitJob: (jobId, graph) => {
      const subtasks = graph.vertices.reduce((n, v) => n + v.parallelism, 0);
      if (subtasks > 100) throw Object.assign(new Error(`job needs ${subtasks} subtasks`), { statusCode: 503 });
      admitted.set(jobId, subtasks);
      return () => released.push(jobId);
    },
  });
  t.throws(() => dispatcher.submitJob({ vertices: [{ id: 'big', parallelism: 101 }] }), /needs 101 subtasks/);
  t.same(dispatcher.listJobs(), { jobs: [] }, 'refused job left nothing behind');
  const { jobId } = dispatcher.submitJob({ vertices: [{ id: 'small', parallelism: 3 }] });
  t.equal(admitted.get(jobId), 3);
  t.same(released, []);
  dispatcher.cancelJob(jobId);
  t.same(released, [jobId], 'released once on archive');
  dispatcher.close();
});

t.test('a TaskManager re-registering under the same id fails its running tasks as lost', async (t) => {
  const h = harness();
  h.addTaskManager('tm-a', 4);
  const { jobId } = h.dispatcher.submitJob(THREE_VERTEX_JOB);
  await h.flush();
  h.report(jobId, 'RUNNING');
  h.addTaskManager('tm-a', 4); // e.g. the TaskManager process restarted with the same identity
  const jm = h.dispatcher.runningJobMaster(jobId)!;
  t.equal(jm.status(), 'RESTARTING');
  t.match(h.dispatcher.jobExceptions(jobId)!['root-exception'], /TaskManagerLostException: TaskManager tm-a re-registered/);
  await h.flush();
  h.clock.advance(1000);
  await h.flush();
  t.equal(h.gateway.deployCalls.at(-1)!.taskManagerId, 'tm-a', 'redeployed to the new instance');
  t.equal(h.report(jobId, 'RUNNING'), 10);
  t.ok(jm.allTasksRunning());
  h.dispatcher.close();
});

t.test('malformed task updates are refused without throwing', async (t) => {
  const h = harness();
  const bad = [null, {}, { jobId: 1, executionAttemptId: 'x', state: 'RUNNING' }, { jobId: 'a', state: 'RUNNING' }];
  for (const u of bad) t.same(h.dispatcher.updateTaskExecutionState(u as never), { applied: false, reason: 'unknown-job' });
  h.addTaskManager('tm-a', 4);
  const { jobId } = h.dispatcher.submitJob(THREE_VERTEX_JOB);
  await h.flush();
  const id = h.gateway.descriptors()[0]!.executionAttemptId;
  t.same(h.dispatcher.updateTaskExecutionState({ jobId, executionAttemptId: id, state: 'EXPLODED' } as never), { applied: false, reason: 'invalid-transition' });
  t.same(h.dispatcher.updateTaskExecutionState({ jobId, executionAttemptId: 'short', state: 'RUNNING' }), { applied: false, reason: 'unknown-attempt' });
  h.dispatcher.close();
});
