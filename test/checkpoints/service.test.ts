import t from 'tap';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ManualClock } from '../../app/cluster/clock.js';
import { CheckpointService } from '../../app/checkpoints/service.js';
import { BUILTIN_CHECKPOINT_DEFAULTS } from '../../app/checkpoints/settings.js';
import { FileStateStore } from '../../app/checkpoints/state-store.js';
import type {
  CurrentExecutionAttempt,
  JobGraph,
  JobMasterApi,
  JobStatus,
  RestoreCheckpointProvider,
  TaskFailureInfo,
} from '../../app/jobs/types.js';
import { FakeGateway, settle } from './fakes.js';

const JOB = '0123456789abcdef0123456789abcdef';
const V = 'a'.repeat(32);

const graph: JobGraph = {
  name: 'wordcount',
  vertices: [{ id: 'src', name: 'Source', parallelism: 2, maxParallelism: 128, config: {} }],
  edges: [],
  checkpointing: { interval: 100, timeout: 1000, minPause: 0, maxConcurrent: 1, retained: 2 },
};

/** Just enough of a JobMaster: listeners fired by hand, attempts renamed per "deployment". */
class FakeJobMaster implements JobMasterApi {
  readonly jobId = JOB;
  readonly jobGraph = graph;
  statusValue: JobStatus = 'RUNNING';
  deployment = 0;
  restoreProvider: RestoreCheckpointProvider | undefined;
  readonly failures: TaskFailureInfo[] = [];
  private readonly running = new Set<() => void>();
  private readonly notRunning = new Set<() => void>();
  private readonly statusL = new Set<(s: JobStatus, ts: number) => void>();
  status(): JobStatus {
    return this.statusValue;
  }
  totalTasks(): number {
    return 2;
  }
  allTasksRunning(): boolean {
    return true;
  }
  onAllTasksRunning(l: () => void): () => void {
    this.running.add(l);
    return () => this.running.delete(l);
  }
  onTasksNoLongerRunning(l: () => void): () => void {
    this.notRunning.add(l);
    return () => this.notRunning.delete(l);
  }
  onStatusChange(l: (s: JobStatus, ts: number) => void): () => void {
    this.statusL.add(l);
    return () => this.statusL.delete(l);
  }
  *currentAttempts(): Iterable<CurrentExecutionAttempt> {
    for (let s = 0; s < 2; s++) {
      yield { jobVertexId: V, subtaskIndex: s, attemptNumber: this.deployment, executionAttemptId: `att-${this.deployment}-${s}`, state: 'RUNNING', taskManagerId: 'tm-1' };
    }
  }
  lookupAttempt(): CurrentExecutionAttempt | undefined {
    return undefined;
  }
  setRestoreCheckpoint(p: RestoreCheckpointProvider | undefined): void {
    this.restoreProvider = p;
  }
  failGlobally(cause: TaskFailureInfo): void {
    this.failures.push(cause);
  }
  /** Simulates a (re)deployment: asks the restore provider per subtask, then all RUNNING. */
  deploy(): (ReturnType<RestoreCheckpointProvider>)[] {
    this.deployment++;
    const restores = [0, 1].map((s) => this.restoreProvider?.(V, s));
    for (const l of [...this.running]) l();
    return restores;
  }
  tasksStopped(): void {
    for (const l of [...this.notRunning]) l();
  }
  setStatus(s: JobStatus, ts: number): void {
    this.statusValue = s;
    for (const l of [...this.statusL]) l(s, ts);
  }
}

async function waitFor(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 2));
  if (!cond()) throw new Error(`timed out waiting for ${what}`);
}

t.test('binds a coordinator to a JobMaster: checkpoints, failover restore, terminal cleanup, boot recovery', async (t) => {
  const dir = t.testdir();
  const clock = new ManualClock();
  const gateway = new FakeGateway();
  const stateStore = await FileStateStore.open({ dir });
  const service = new CheckpointService({ stateStore, clock, gateway, defaults: BUILTIN_CHECKPOINT_DEFAULTS });
  const jm = new FakeJobMaster();
  service.jobSubmitted(jm);
  await service.whenJobPersisted(JOB);
  t.ok(existsSync(join(dir, 'jobs', JOB, 'jobgraph.json')), 'JobGraph durable before the submission is acknowledged');
  jm.setStatus('RUNNING', clock.now());

  t.same(jm.deploy(), [undefined, undefined], 'first deployment restores nothing');
  const ack = (id: number): void => {
    const r = service.acknowledgeCheckpoints({
      taskManagerId: 'tm-1',
      acks: [0, 1].map((s) => ({ jobId: JOB, checkpointId: id, executionAttemptId: `att-${jm.deployment}-${s}`, stateSizeBytes: 7, stateHandle: `h-${id}-${s}` })),
    });
    t.same(r, { accepted: 2, ignored: 0 }, `acks of checkpoint ${id} accepted`);
  };
  for (let id = 1; id <= 3; id++) {
    clock.advance(100);
    await waitFor(() => gateway.triggers().length === id, `trigger ${id}`);
    ack(id);
    await waitFor(() => service.coordinator(JOB)!.statistics().counts.completed === id, `completion ${id}`);
  }
  t.same(service.acknowledgeCheckpoints({ taskManagerId: 'tm-1', acks: [{ jobId: 'f'.repeat(32), checkpointId: 1, executionAttemptId: 'x' }] }), { accepted: 0, ignored: 1 }, 'unknown job ignored');

  // Task failure: tasks stop, redeploy restores from the latest completed checkpoint.
  clock.advance(100); // checkpoint 4 in flight
  await waitFor(() => gateway.triggers().length === 4, 'trigger 4');
  jm.tasksStopped();
  t.same(jm.deploy(), [{ checkpointId: 3, stateHandle: 'h-3-0' }, { checkpointId: 3, stateHandle: 'h-3-1' }], 'restored from exactly the latest completed');
  const stats = service.coordinator(JOB)!.statistics();
  t.equal(stats.latest.restored?.id, 3);
  t.equal(stats.counts.restored, 1);
  t.match(stats.latest.failed?.failure_message ?? '', /suspended/, 'in-flight checkpoint 4 aborted');

  // Tolerable failures (0) exceeded -> failGlobally on the JobMaster.
  clock.advance(100);
  await waitFor(() => gateway.triggers().length === 5, 'trigger 5');
  service.declineCheckpoints({ taskManagerId: 'tm-1', declines: [{ jobId: JOB, checkpointId: 5, executionAttemptId: 'att-2-0', reason: 'no space' }] });
  t.equal(jm.failures.length, 1);
  t.match(jm.failures[0]?.message, /declined by task att-2-0: no space \(TaskManager tm-1\)/);

  // JobManager restart: a second service over the same directory recovers the job with checkpoint 3.
  const service2 = new CheckpointService({ stateStore: await FileStateStore.open({ dir }), clock, gateway: new FakeGateway(), defaults: BUILTIN_CHECKPOINT_DEFAULTS });
  await settle();
  const rec = await service2.loadRecoverableJobs();
  t.equal(rec.active.length, 1);
  t.equal(rec.active[0]?.jobId, JOB);
  t.match(rec.active[0]?.jobGraph, { name: 'wordcount' });
  t.equal(rec.active[0]?.recovery.completed.at(-1)?.checkpointId, 3);
  t.ok((rec.active[0]?.recovery.nextCheckpointId ?? 0) >= 6, 'counter continues after every id handed out');
  const jm2 = new FakeJobMaster();
  service2.jobRecovered(jm2);
  t.same(jm2.deploy()[1], { checkpointId: 3, stateHandle: 'h-3-1' }, 'first deployment after recovery restores the latest checkpoint');

  // Terminal: status persisted, checkpoints discarded.
  jm.setStatus('CANCELED', clock.now());
  await service.close();
  t.notOk(existsSync(join(dir, 'jobs', JOB, 'checkpoints')), 'checkpoints of a cancelled job discarded');
  const rec2 = await new CheckpointService({ stateStore: await FileStateStore.open({ dir }), clock, gateway, defaults: BUILTIN_CHECKPOINT_DEFAULTS }).loadRecoverableJobs();
  t.same(rec2.active, []);
  t.equal(rec2.archived[0]?.status?.status, 'CANCELED');
  await service2.close();
});
