import t from 'tap';
import { ManualClock } from '../../app/cluster/clock.js';
import { JobCheckpointStore } from '../../app/checkpoints/checkpoint-store.js';
import { CheckpointCoordinator, CheckpointTriggerError, type CheckpointTask } from '../../app/checkpoints/coordinator.js';
import { BUILTIN_CHECKPOINT_DEFAULTS, resolveCheckpointSettings, type JobCheckpointingConfig } from '../../app/checkpoints/settings.js';
import type { CompletedCheckpoint } from '../../app/checkpoints/types.js';
import { FakeGateway, FaultyFs, MemoryFs, settle } from './fakes.js';

const JOB = 'f'.repeat(32);
const JOB_DIR = `/data/jobs/${JOB}`;

/** 2 vertices x parallelism 2 on 2 TaskManagers (subtask i on tm-i). */
function tasks(gen = 0): CheckpointTask[] {
  const out: CheckpointTask[] = [];
  for (const v of ['source', 'sink']) {
    for (let i = 0; i < 2; i++) out.push({ executionAttemptId: `${v}-${i}-g${gen}`, taskManagerId: `tm-${i}`, vertexId: v, subtaskIndex: i });
  }
  return out;
}

interface Harness {
  clock: ManualClock;
  fs: FaultyFs;
  mem: MemoryFs;
  gateway: FakeGateway;
  store: JobCheckpointStore;
  coordinator: CheckpointCoordinator;
  failovers: string[];
  completed: CompletedCheckpoint[];
}

function harness(cfg: JobCheckpointingConfig, opts: { historySize?: number; mem?: MemoryFs } = {}): Harness {
  const clock = new ManualClock(1_000_000);
  const mem = opts.mem ?? new MemoryFs();
  const fs = new FaultyFs(mem);
  const gateway = new FakeGateway();
  const settings = resolveCheckpointSettings(cfg, { ...BUILTIN_CHECKPOINT_DEFAULTS, historySize: opts.historySize ?? 10 });
  const store = new JobCheckpointStore({ fs, jobDir: JOB_DIR, jobId: JOB, retained: settings.retained });
  const failovers: string[] = [];
  const completed: CompletedCheckpoint[] = [];
  const coordinator = new CheckpointCoordinator({
    jobId: JOB,
    settings,
    clock,
    gateway,
    store,
    onFailover: (r) => failovers.push(r),
    onCompleted: (c) => completed.push(c),
  });
  return { clock, fs, mem, gateway, store, coordinator, failovers, completed };
}

/** Acks every subtask of checkpoint `id` with a handle naming the checkpoint. */
function ackAll(h: Harness, id: number, gen = 0): void {
  h.coordinator.acknowledge(
    tasks(gen).map((task) => ({ checkpointId: id, executionAttemptId: task.executionAttemptId, stateHandle: `mem://${id}/${task.executionAttemptId}`, stateSizeBytes: 100 })),
  );
}

async function advance(h: Harness, ms: number): Promise<void> {
  h.clock.advance(ms);
  await settle();
}

/** Advances time in 1 ms steps until the next checkpoint is triggered; returns its id. */
async function nextTrigger(h: Harness): Promise<number> {
  const before = h.gateway.triggers().length;
  for (let i = 0; i < 10_000 && h.gateway.triggers().length === before; i++) await advance(h, 1);
  const last = h.gateway.triggers().at(-1);
  if (!last || h.gateway.triggers().length === before) throw new Error('no checkpoint triggered');
  return last.request.checkpointId;
}

t.test('periodic triggering, batched per TaskManager, complete after durable then notify', async (t) => {
  const h = harness({ interval: 100, timeout: 1000 });
  await h.coordinator.initialize();
  h.coordinator.start(tasks());
  await advance(h, 99);
  t.equal(h.gateway.triggers().length, 0, 'nothing before the interval');
  await advance(h, 1);
  const trig = h.gateway.triggers();
  t.equal(trig.length, 2, 'one trigger call per TaskManager');
  t.same(trig.map((c) => c.taskManagerId).sort(), ['tm-0', 'tm-1']);
  t.same(trig.find((c) => c.taskManagerId === 'tm-0')?.request.executionAttemptIds, ['source-0-g0', 'sink-0-g0']);
  t.equal(trig[0]?.request.checkpointId, 1);
  t.equal(trig[0]?.request.timestamp, 1_000_100);
  t.equal(trig[0]?.request.jobId, JOB);

  // Notifications must come only after chk-1.json exists.
  let fileAtNotify = false;
  const orig = h.gateway.notifyCheckpointComplete.bind(h.gateway);
  h.gateway.notifyCheckpointComplete = async (tm, req) => {
    fileAtNotify = h.mem.files.has(`${JOB_DIR}/checkpoints/chk-1.json`);
    return orig(tm, req);
  };
  h.coordinator.acknowledge([{ checkpointId: 1, executionAttemptId: 'source-0-g0', stateHandle: 'x', stateSizeBytes: 5 }]);
  t.equal(h.coordinator.statistics().counts.in_progress, 1);
  ackAll(h, 1);
  t.equal(h.coordinator.statistics().counts.completed, 0, 'not completed before durable');
  await settle();
  t.ok(fileAtNotify, 'metadata durable before TaskManagers are notified');
  t.equal(h.gateway.completes().length, 2, 'one notification per TaskManager');
  const stats = h.coordinator.statistics();
  t.same(stats.counts, { restored: 0, total: 1, in_progress: 0, completed: 1, failed: 0 });
  t.equal(h.completed[0]?.checkpointId, 1);
  t.equal(h.completed[0]?.stateSizeBytes, 5 + 300, 'first ack of source-0 counts, the duplicate is ignored');

  await advance(h, 100);
  t.equal(h.gateway.triggers().length, 4, 'second checkpoint after another interval');
  t.equal(h.gateway.triggers()[2]?.request.checkpointId, 2);
  h.coordinator.stop('test end');
});

t.test('maxConcurrent bounds in-flight checkpoints', async (t) => {
  for (const maxConcurrent of [1, 3]) {
    const h = harness({ interval: 10, timeout: 10_000, maxConcurrent });
    await h.coordinator.initialize();
    h.coordinator.start(tasks());
    for (let i = 0; i < 10; i++) await advance(h, 10);
    t.equal(h.coordinator.pendingCount(), maxConcurrent, `at most ${maxConcurrent} pending`);
    t.equal(new Set(h.gateway.triggers().map((c) => c.request.checkpointId)).size, maxConcurrent);
    // Completing the oldest frees a slot: the next one starts at once.
    ackAll(h, 1);
    await settle();
    await advance(h, 0);
    t.equal(h.coordinator.statistics().counts.completed, 1);
    t.equal(h.coordinator.pendingCount(), maxConcurrent, 'slot refilled');
    h.coordinator.stop('end');
  }
});

t.test('minPause separates the end of one checkpoint from the start of the next', async (t) => {
  const h = harness({ interval: 100, minPause: 250, timeout: 10_000 });
  await h.coordinator.initialize();
  h.coordinator.start(tasks());
  await advance(h, 100); // trigger #1 at +100
  await advance(h, 50);
  ackAll(h, 1); // completes at +150
  await settle();
  await advance(h, 249); // +399
  t.equal(h.gateway.triggers().length, 2, 'no new trigger before +400');
  await advance(h, 1); // +400
  t.equal(h.gateway.triggers().length, 4, 'next trigger exactly minPause after completion');
  h.coordinator.stop('end');
});

t.test('timeout aborts; consecutive failures beyond tolerable trigger failover; success resets', async (t) => {
  const h = harness({ interval: 100, timeout: 50, tolerableFailures: 2 });
  await h.coordinator.initialize();
  h.coordinator.start(tasks());
  t.equal(await nextTrigger(h), 1);
  await advance(h, 49);
  t.equal(h.coordinator.statistics().counts.failed, 0, 'not yet expired');
  await advance(h, 1);
  let s = h.coordinator.statistics();
  t.equal(s.counts.failed, 1, 'expired');
  t.match(s.latest.failed?.failure_message ?? '', /expired before completing \(timeout 50 ms\)/);
  t.equal(s.latest.failed?.className, '.FailedCheckpointStatistics');
  t.equal(h.failovers.length, 0, 'one failure tolerated');
  t.ok(h.gateway.calls.some((c) => c.kind === 'aborted' && c.request.checkpointId === 1), 'tasks told about the abort');
  t.equal(await nextTrigger(h), 2);
  await advance(h, 50);
  t.equal(h.failovers.length, 0, 'two failures tolerated');
  t.equal(await nextTrigger(h), 3);
  ackAll(h, 3);
  await settle();
  t.equal(h.coordinator.statistics().counts.completed, 1, 'a success...');
  for (let i = 0; i < 3; i++) {
    await nextTrigger(h);
    await advance(h, 50);
    t.equal(h.failovers.length, i === 2 ? 1 : 0, `after ${i + 1} failures since the success`);
  }
  t.match(h.failovers[0], /exceeded the tolerable number of failed checkpoints \(2\)/);
  s = h.coordinator.statistics();
  t.same(s.counts, { restored: 0, total: 6, in_progress: 0, completed: 1, failed: 5 });
  h.coordinator.stop('end');
});

t.test('a decline aborts the checkpoint at once and counts as a failure', async (t) => {
  const h = harness({ interval: 100, timeout: 10_000 });
  await h.coordinator.initialize();
  h.coordinator.start(tasks());
  await advance(h, 100);
  t.same(h.coordinator.decline([{ checkpointId: 1, executionAttemptId: 'sink-1-g0', reason: 'disk full on task' }]), { accepted: 1, ignored: 0 });
  t.equal(h.coordinator.pendingCount(), 0);
  t.equal(h.failovers.length, 1, 'tolerable 0: first failure fails over');
  t.match(h.failovers[0], /declined by task sink-1-g0: disk full on task/);
  t.same(h.coordinator.decline([{ checkpointId: 1, executionAttemptId: 'sink-1-g0', reason: 'again' }]), { accepted: 0, ignored: 1 }, 'late decline ignored');
  ackAll(h, 1);
  await settle();
  t.equal(h.coordinator.statistics().counts.completed, 0, 'late acks ignored');
});

t.test('a trigger RPC failure aborts the checkpoint', async (t) => {
  const h = harness({ interval: 100, timeout: 10_000, tolerableFailures: 5 });
  await h.coordinator.initialize();
  h.gateway.failTrigger.add('tm-1');
  h.coordinator.start(tasks());
  await advance(h, 100);
  t.match(h.coordinator.statistics().latest.failed?.failure_message ?? '', /on TaskManager tm-1 failed: connection refused/);
});

t.test('a metadata write failing mid-checkpoint fails only that checkpoint; the next succeeds', async (t) => {
  const h = harness({ interval: 100, timeout: 10_000 });
  await h.coordinator.initialize();
  h.coordinator.start(tasks());
  await advance(h, 100);
  h.fs.fail('partial-write', 'ENOSPC', (p) => p.includes('chk-1'));
  ackAll(h, 1);
  await settle();
  let s = h.coordinator.statistics();
  t.equal(s.counts.failed, 1);
  t.equal(s.counts.completed, 0, 'never counted completed');
  t.match(s.latest.failed?.failure_message ?? '', /could not write .*chk-1\.json \(write failed: ENOSPC\)/);
  t.equal(h.failovers.length, 0, 'storage failures do not fail the job over (restarting tasks cannot fix the disk)');
  t.equal(h.gateway.completes().length, 0, 'no completion notification');
  t.notOk([...h.mem.files.keys()].some((p) => p.includes('chk-1')), 'nothing partial visible');
  t.equal(h.coordinator.latestCompleted(), undefined);
  await advance(h, 100);
  ackAll(h, 2);
  await settle();
  s = h.coordinator.statistics();
  t.equal(s.counts.completed, 1);
  t.equal(h.coordinator.latestCompleted()?.checkpointId, 2);
});

t.test('manual trigger: request id -> checkpoint id; queued behind maxConcurrent; refused when not running', async (t) => {
  const h = harness({}); // no periodic checkpoints
  await h.coordinator.initialize();
  t.throws(() => h.coordinator.triggerManual(), CheckpointTriggerError);
  h.coordinator.start(tasks());
  await advance(h, 10_000);
  t.equal(h.gateway.triggers().length, 0, 'interval unset: no periodic checkpoints');
  t.equal(h.coordinator.configInfo(), undefined, 'config 404s like Flink when periodic checkpointing is off');
  const r1 = h.coordinator.triggerManual();
  const r2 = h.coordinator.triggerManual();
  t.match(r1, /^[0-9a-f]{32}$/);
  await settle();
  t.same(h.coordinator.manualCheckpointStatus(r1), { status: 'IN_PROGRESS', checkpointId: 1 });
  t.same(h.coordinator.manualCheckpointStatus(r2), { status: 'IN_PROGRESS' }, 'queued (maxConcurrent 1)');
  ackAll(h, 1);
  await settle();
  t.same(h.coordinator.manualCheckpointStatus(r1), { status: 'COMPLETED', checkpointId: 1 });
  t.same(h.coordinator.manualCheckpointStatus(r2), { status: 'IN_PROGRESS', checkpointId: 2 });
  h.coordinator.stop('cancelled');
  t.match(h.coordinator.manualCheckpointStatus(r2), { status: 'FAILED', checkpointId: 2, failureCause: /suspended: cancelled/ });
  t.equal(h.coordinator.manualCheckpointStatus('0'.repeat(32)), undefined);
});

t.test('retention, restore lookup, restored stats and ids increasing across restarts', async (t) => {
  const h = harness({ interval: 100, timeout: 10_000, retained: 2 });
  await h.coordinator.initialize();
  h.coordinator.start(tasks());
  for (let id = 1; id <= 4; id++) {
    await advance(h, 100);
    ackAll(h, id);
    await settle();
  }
  t.same(h.store.all().map((c) => c.checkpointId), [3, 4]);
  t.same([...h.mem.files.keys()].filter((p) => p.includes('/checkpoints/')).sort(), [`${JOB_DIR}/checkpoints/chk-3.json`, `${JOB_DIR}/checkpoints/chk-4.json`]);
  const hist = h.coordinator.statistics().history;
  t.same(hist.map((e) => [e.id, e.discarded]), [[4, false], [3, false], [2, true], [1, true]], 'history newest first, subsumed ones marked discarded');
  t.same(h.coordinator.restoreFor('sink', 1), { checkpointId: 4, stateHandle: 'mem://4/sink-1-g0' });
  t.same(h.coordinator.restoreFor('unknown-vertex', 0), { checkpointId: 4 }, 'no handle: restore from the id only');

  // Failover: stop, restart with new attempts; a pending checkpoint is aborted and never completes.
  await advance(h, 100); // #5 pending
  h.coordinator.stop('task failure');
  ackAll(h, 5);
  await settle();
  t.equal(h.coordinator.latestCompleted()?.checkpointId, 4, 'aborted checkpoint 5 not completed by late acks');
  h.coordinator.recordRestored(4);
  h.coordinator.start(tasks(1));
  await advance(h, 100);
  const last = h.gateway.triggers().at(-1);
  t.equal(last?.request.checkpointId, 6, 'ids keep increasing, 5 is never reused');
  const tm0 = h.gateway.triggers().find((c) => c.request.checkpointId === 6 && c.taskManagerId === 'tm-0');
  t.same(tm0?.request.executionAttemptIds, ['source-0-g1', 'sink-0-g1'], 'the new attempts are triggered');
  ackAll(h, 6, 0); // stale attempts of the old deployment
  await settle();
  t.equal(h.coordinator.statistics().counts.completed, 4, 'acks of stale attempts ignored');
  const r = h.coordinator.statistics();
  t.same(r.latest.restored, { id: 4, restore_timestamp: h.clock.now() - 100, is_savepoint: false, external_path: `${JOB_DIR}/checkpoints/chk-4.json` });
  t.equal(r.counts.restored, 1);
  h.coordinator.stop('end');

  // A new coordinator over the same storage (JobManager restart) continues after 6.
  const h2 = harness({ interval: 100, timeout: 10_000, retained: 2 }, { mem: h.mem });
  const rec = await h2.coordinator.initialize();
  t.equal(rec.nextCheckpointId, 7);
  t.equal(h2.coordinator.latestCompleted()?.checkpointId, 4);
});

t.test('a newer completed checkpoint subsumes older pending ones', async (t) => {
  const h = harness({ interval: 10, timeout: 10_000, maxConcurrent: 2, tolerableFailures: 0 });
  await h.coordinator.initialize();
  h.coordinator.start(tasks());
  await advance(h, 10);
  await advance(h, 10);
  t.equal(h.coordinator.pendingCount(), 2);
  ackAll(h, 2);
  await settle();
  const s = h.coordinator.statistics();
  t.equal(s.counts.completed, 1);
  t.equal(s.counts.failed, 1);
  t.match(s.latest.failed?.failure_message ?? '', /checkpoint 1 subsumed by completed checkpoint 2/);
  t.equal(h.failovers.length, 0, 'subsumption is not a failure');
  h.coordinator.stop('end');
});

t.test('statistics have Flink shapes; history bounded; details per vertex', async (t) => {
  const h = harness({ interval: 100, timeout: 10_000, retained: 1 }, { historySize: 3 });
  await h.coordinator.initialize();
  h.coordinator.start(tasks());
  for (let id = 1; id <= 5; id++) {
    t.equal(await nextTrigger(h), id);
    await advance(h, id * 10); // durations 10..50
    ackAll(h, id);
    await settle();
  }
  await nextTrigger(h); // #6 in progress
  const s = h.coordinator.statistics();
  t.same(Object.keys(s).sort(), ['counts', 'history', 'latest', 'summary']);
  t.same(s.counts, { restored: 0, total: 6, in_progress: 1, completed: 5, failed: 0 });
  t.same(Object.keys(s.summary).sort(), ['alignment_buffered', 'checkpointed_size', 'end_to_end_duration', 'persisted_data', 'processed_data', 'state_size']);
  t.same(Object.keys(s.summary.state_size).sort(), ['avg', 'max', 'min', 'p50', 'p90', 'p95', 'p99', 'p999']);
  t.same(s.summary.end_to_end_duration.min, 10);
  t.same(s.summary.end_to_end_duration.max, 50);
  t.same(s.summary.end_to_end_duration.avg, 30);
  t.same(s.summary.end_to_end_duration.p50, 30);
  t.same(s.summary.state_size.max, 400);
  t.equal(s.history.length, 3, 'bounded by web.checkpoints.history');
  t.same(s.history.map((e) => [e.id, e.status]), [[6, 'IN_PROGRESS'], [5, 'COMPLETED'], [4, 'COMPLETED']]);
  t.equal(s.history[0]?.className, '.PendingCheckpointStatistics');
  const done = s.latest.completed!;
  t.match(done, {
    className: '.CompletedCheckpointStatistics',
    id: 5,
    status: 'COMPLETED',
    is_savepoint: false,
    checkpoint_type: 'CHECKPOINT',
    state_size: 400,
    checkpointed_size: 400,
    end_to_end_duration: 50,
    num_subtasks: 4,
    num_acknowledged_subtasks: 4,
    external_path: `${JOB_DIR}/checkpoints/chk-5.json`,
    discarded: false,
  });
  t.same(done.tasks, {}, 'no per-task data in the overview (as Flink)');
  t.equal(s.latest.savepoint, null);
  t.equal(s.latest.restored, null);
  const d = h.coordinator.details(5)!;
  t.same(Object.keys(d.tasks).sort(), ['sink', 'source']);
  t.match(d.tasks.source, { id: 5, status: 'COMPLETED', num_subtasks: 2, num_acknowledged_subtasks: 2, state_size: 200 });
  t.equal(h.coordinator.details(1), undefined, 'fell out of the history');
  const cfg = h.coordinator.configInfo()!;
  t.match(cfg, { mode: 'exactly_once', interval: 100, timeout: 10_000, min_pause: 0, max_concurrent: 1, tolerable_failed_checkpoints: 0, externalization: { enabled: true } });
  h.coordinator.stop('end');
});

t.test('a corrupt checkpoint file at initialize shows as a failed checkpoint; the previous one is used', async (t) => {
  const h = harness({ interval: 100, timeout: 10_000, retained: 2 });
  await h.coordinator.initialize();
  h.coordinator.start(tasks());
  for (let id = 1; id <= 2; id++) {
    await advance(h, 100);
    ackAll(h, id);
    await settle();
  }
  h.coordinator.stop('jobmanager crash');
  const path = `${JOB_DIR}/checkpoints/chk-2.json`;
  const b = h.mem.files.get(path)!;
  h.mem.files.set(path, b.subarray(0, b.length - 40));
  const h2 = harness({ interval: 100, timeout: 10_000, retained: 2 }, { mem: h.mem });
  const rec = await h2.coordinator.initialize();
  t.equal(rec.corrupt.length, 1);
  t.equal(h2.coordinator.latestCompleted()?.checkpointId, 1, 'previous retained checkpoint used');
  const s = h2.coordinator.statistics();
  t.equal(s.counts.failed, 1);
  t.equal(s.latest.failed?.id, 2);
  t.match(s.latest.failed?.failure_message ?? '', `metadata file ${path} is corrupt`);
  h2.coordinator.start(tasks(1));
  await advance(h2, 100);
  t.equal(h2.gateway.triggers()[0]?.request.checkpointId, 3, 'the corrupt checkpoint id is not reused');
  h2.coordinator.stop('end');
});

t.test('settings: JobGraph values win over cluster defaults', async (t) => {
  const d = { ...BUILTIN_CHECKPOINT_DEFAULTS, intervalMs: 5000, retained: 3, tolerableFailures: 1 };
  t.match(resolveCheckpointSettings(undefined, d), { intervalMs: 5000, retained: 3, tolerableFailures: 1, timeoutMs: 600_000, maxConcurrent: 1 });
  t.match(resolveCheckpointSettings({ interval: 300, retained: 1, maxConcurrent: 0 }, d), { intervalMs: 300, retained: 1, maxConcurrent: 1 });
  t.equal(resolveCheckpointSettings(undefined, BUILTIN_CHECKPOINT_DEFAULTS).intervalMs, 0, 'off by default');
});

t.test('a counter write failure triggers nothing, counts as failed, and the next trigger works', async (t) => {
  const h = harness({ interval: 100, timeout: 10_000 });
  await h.coordinator.initialize();
  h.coordinator.start(tasks());
  h.fs.fail('fsync', 'ENOSPC', (p) => p.includes('checkpoint-counter'));
  await advance(h, 100);
  t.equal(h.gateway.triggers().length, 0, 'no trigger without a durable id');
  t.same(h.coordinator.statistics().counts, { restored: 0, total: 1, in_progress: 0, completed: 0, failed: 1 });
  t.equal(h.failovers.length, 0, 'a storage problem does not fail the job over');
  await advance(h, 100);
  const id = h.gateway.triggers()[0]?.request.checkpointId;
  t.equal(id, 2, 'id 1 is burnt, never reused');
  ackAll(h, 2);
  await settle();
  t.equal(h.coordinator.statistics().counts.completed, 1);
  h.coordinator.stop('end');
});
