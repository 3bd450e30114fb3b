// The CheckpointService with the real Dispatcher/JobMaster (no sockets, a
// manual clock, real files): checkpoints start once every task runs, a task
// failure redeploys every subtask with the latest completed checkpoint in its
// descriptor, too many failed checkpoints fail the job over through its
// restart strategy, and a "restarted JobManager" (new Dispatcher and service
// on the same directory) recovers the job and deploys it from its latest
// checkpoint.
import t from 'tap';
import { CheckpointService } from '../../app/checkpoints/service.js';
import { BUILTIN_CHECKPOINT_DEFAULTS } from '../../app/checkpoints/settings.js';
import { FileStateStore } from '../../app/checkpoints/state-store.js';
import type { TaskDeploymentDescriptor } from '../../app/jobs/types.js';
import { FakeGateway as FakeCheckpointGateway } from './fakes.js';
import { harness, type Harness } from '../jobs/harness.js';

const JOB = {
  name: 'checkpointed',
  vertices: [
    { id: 'source', name: 'Source', parallelism: 2 },
    { id: 'sink', name: 'Sink', parallelism: 2 },
  ],
  edges: [{ source: 'source', target: 'sink', distribution: 'ALL_TO_ALL' }],
  checkpointing: { interval: 1000, timeout: 5000, retained: 2 },
  restartStrategy: { type: 'fixed-delay', attempts: 5, delay: 100 },
};

async function waitFor(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 2));
  if (!cond()) throw new Error(`timed out waiting for ${what}`);
}

async function cluster(dir: string, tolerableFailures = 0): Promise<{ h: Harness; service: CheckpointService; chk: FakeCheckpointGateway }> {
  const h = harness();
  const chk = new FakeCheckpointGateway();
  const service = new CheckpointService({
    stateStore: await FileStateStore.open({ dir }),
    clock: h.clock,
    gateway: chk,
    defaults: { ...BUILTIN_CHECKPOINT_DEFAULTS, tolerableFailures },
  });
  // As app/jobmanager.ts does.
  h.dispatcher.onJobStatusChange((jobId, status) => {
    const jm = h.dispatcher.jobMaster(jobId);
    if (status === 'CREATED' && jm) service.jobCreated(jm);
  });
  h.addTaskManager('tm-1', 4);
  return { h, service, chk };
}

/** The TaskManager side: ack every triggered attempt with a handle naming checkpoint and subtask. */
function ackLatestTrigger(c: { service: CheckpointService; chk: FakeCheckpointGateway }, h: Harness, jobId: string): number {
  const trig = c.chk.triggers().at(-1)!;
  const jm = h.dispatcher.jobMaster(jobId)!;
  c.service.acknowledgeCheckpoints({
    taskManagerId: trig.taskManagerId,
    acks: trig.request.executionAttemptIds.map((id) => {
      const a = jm.lookupAttempt(id)!;
      return { jobId, checkpointId: trig.request.checkpointId, executionAttemptId: id, stateSizeBytes: 10, stateHandle: `h/${trig.request.checkpointId}/${a.jobVertexId}/${a.subtaskIndex}` };
    }),
  });
  return trig.request.checkpointId;
}

const latestDescriptors = (h: Harness, jobId: string): TaskDeploymentDescriptor[] => {
  const jm = h.dispatcher.jobMaster(jobId)!;
  return h.gateway.descriptors().filter((d) => d.jobId === jobId && jm.lookupAttempt(d.executionAttemptId));
};

t.test('failover restores every subtask from the latest completed checkpoint; JobManager restart recovers it', async (t) => {
  const dir = t.testdir();
  const c = await cluster(dir);
  const { h } = c;
  const { jobId } = h.dispatcher.submitJob(JOB);
  await c.service.whenJobPersisted(jobId);
  await h.flush();
  t.equal(h.report(jobId, 'RUNNING'), 4);
  t.ok(latestDescriptors(h, jobId).every((d) => d.restoreCheckpoint === undefined), 'first deployment restores nothing');

  for (let i = 1; i <= 2; i++) {
    h.clock.advance(1000);
    await waitFor(() => c.chk.triggers().length === i, `trigger ${i}`);
    ackLatestTrigger(c, h, jobId);
    await waitFor(() => c.service.coordinator(jobId)!.statistics().counts.completed === i, `completion ${i}`);
  }
  // Checkpoint 3 in flight when a task fails.
  h.clock.advance(1000);
  await waitFor(() => c.chk.triggers().length === 3, 'trigger 3');
  const failedOne = latestDescriptors(h, jobId)[0]!;
  h.dispatcher.updateTaskExecutionState({ jobId, executionAttemptId: failedOne.executionAttemptId, state: 'FAILED', failure: { message: 'boom' } });
  await h.flush();
  h.report(jobId, 'CANCELED');
  h.clock.advance(100); // restart delay
  await h.flush();
  const redeployed = latestDescriptors(h, jobId);
  t.equal(redeployed.length, 4);
  for (const d of redeployed) {
    t.same(d.restoreCheckpoint, { checkpointId: 2, stateHandle: `h/2/${d.jobVertexId}/${d.subtaskIndex}` }, `subtask ${d.subtaskIndex} of ${d.jobVertexId.slice(0, 6)} restores checkpoint 2`);
  }
  h.report(jobId, 'RUNNING');
  const stats = c.service.coordinator(jobId)!.statistics();
  t.equal(stats.latest.restored?.id, 2);
  t.match(stats.latest.failed, { id: 3, failure_message: /suspended/ });

  // Checkpoints resume on the new attempts: ids keep increasing.
  h.clock.advance(1000);
  await waitFor(() => c.chk.triggers().length === 4, 'trigger 4');
  t.equal(ackLatestTrigger(c, h, jobId), 4);
  await waitFor(() => c.service.coordinator(jobId)!.statistics().counts.completed === 3, 'completion 4');

  // "Restart" the JobManager: a new Dispatcher and service over the same directory.
  await c.service.close();
  h.dispatcher.close();
  const c2 = await cluster(dir);
  const stored = await c2.service.loadRecoverableJobs();
  t.equal(stored.active.length, 1);
  t.equal(stored.active[0]?.recovery.completed.at(-1)?.checkpointId, 4);
  c2.h.dispatcher.recoverJob(stored.active[0]!.jobId, stored.active[0]!.jobGraph);
  await c2.h.flush();
  const first = latestDescriptors(c2.h, jobId);
  t.equal(first.length, 4, 'recovered job deployed under its own id');
  t.ok(first.every((d) => d.restoreCheckpoint?.checkpointId === 4), 'from the latest completed checkpoint');
  c2.h.report(jobId, 'RUNNING');
  c2.h.clock.advance(1000);
  await waitFor(() => c2.chk.triggers().length === 1, 'trigger after recovery');
  t.ok(c2.chk.triggers()[0]!.request.checkpointId > 4, 'ids continue above every id used before');
  t.equal(c2.service.coordinator(jobId)!.statistics().latest.restored?.id, 4);
  await c2.service.close();
  c2.h.dispatcher.close();
});

t.test('too many failed checkpoints fail the job over through its restart strategy', async (t) => {
  const c = await cluster(t.testdir(), 1);
  const { h } = c;
  const { jobId } = h.dispatcher.submitJob(JOB);
  await h.flush();
  h.report(jobId, 'RUNNING');
  const decline = () => {
    const trig = c.chk.triggers().at(-1)!;
    c.service.declineCheckpoints({ taskManagerId: 'tm-1', declines: [{ jobId, checkpointId: trig.request.checkpointId, executionAttemptId: trig.request.executionAttemptIds[0]!, reason: 'cannot snapshot' }] });
  };
  h.clock.advance(1000);
  await waitFor(() => c.chk.triggers().length === 1, 'trigger 1');
  decline();
  t.equal(h.dispatcher.jobMaster(jobId)!.status(), 'RUNNING', 'one failure tolerated');
  h.clock.advance(1000);
  await waitFor(() => c.chk.triggers().length === 2, 'trigger 2');
  decline();
  await h.flush();
  t.equal(h.dispatcher.jobMaster(jobId)!.status(), 'RESTARTING', 'second consecutive failure: failover');
  const ex = h.dispatcher.jobExceptions(jobId)!;
  t.match(ex['root-exception'] ?? '', /CheckpointException.*tolerable number of failed checkpoints \(1\)/s);
  await c.service.close();
  h.dispatcher.close();
});
