// Random event sequences against Dispatcher + JobMaster + ResourceManager:
// nothing throws, slot accounting always balances, task counts always add up,
// and once resources are plentiful every surviving job gets all tasks RUNNING
// (or FINISHED).
import fc from 'fast-check';
import t from 'tap';
import { STATE } from '../../app/jobs/execution-graph.js';
import { harness, type Harness } from './harness.js';

type Event =
  | { kind: 'submit'; p: number; q: number; pointwise: boolean }
  | { kind: 'addTm'; slots: number }
  | { kind: 'loseTm'; which: number }
  | { kind: 'reregisterTm'; which: number }
  | { kind: 'report'; state: 'INITIALIZING' | 'RUNNING' | 'FINISHED' | 'FAILED' | 'CANCELED'; pick: number }
  | { kind: 'cancel'; which: number }
  | { kind: 'advance'; ms: number }
  | { kind: 'unreachable'; which: number };

const event: fc.Arbitrary<Event> = fc.oneof(
  fc.record({ kind: fc.constant('submit' as const), p: fc.integer({ min: 1, max: 5 }), q: fc.integer({ min: 1, max: 5 }), pointwise: fc.boolean() }),
  fc.record({ kind: fc.constant('addTm' as const), slots: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ kind: fc.constant('loseTm' as const), which: fc.nat() }),
  fc.record({ kind: fc.constant('reregisterTm' as const), which: fc.nat() }),
  fc.record({ kind: fc.constant('report' as const), state: fc.constantFrom('INITIALIZING', 'RUNNING', 'RUNNING', 'FINISHED', 'FAILED', 'CANCELED'), pick: fc.nat() }),
  fc.record({ kind: fc.constant('cancel' as const), which: fc.nat() }),
  fc.record({ kind: fc.constant('advance' as const), ms: fc.constantFrom(500, 1000, 5000, 60_000, 400_000) }),
  fc.record({ kind: fc.constant('unreachable' as const), which: fc.nat() }),
);

function checkInvariants(h: Harness): string | undefined {
  let held = 0;
  for (const { id } of h.dispatcher.listJobs().jobs) {
    const jm = h.dispatcher.runningJobMaster(id);
    if (!jm) continue;
    held += jm.heldAllocations().length;
    let sum = 0;
    for (const c of jm.graph.totals) sum += c;
    if (sum !== jm.graph.totalSubtasks) return `job ${id}: counts ${sum} != ${jm.graph.totalSubtasks}`;
    for (const a of jm.heldAllocations()) if (!h.rm.isAllocationAlive(a.allocationId)) return `job ${id} holds a dead allocation`;
  }
  const totals = h.rm.slotTotals();
  if (totals.slotsTotal - totals.slotsAvailable !== held) return `slots: total ${totals.slotsTotal} - free ${totals.slotsAvailable} != held ${held}`;
  return undefined;
}

t.test('random event sequences keep the invariants', async (t) => {
  await fc.assert(
    fc.asyncProperty(fc.array(event, { minLength: 5, maxLength: 60 }), async (events) => {
      const h = harness({ slotRequestTimeoutMs: 300_000, defaultRestartStrategy: { type: 'fixed-delay', attempts: 3, delay: 1000 } });
      let tmSeq = 0;
      const jobIds: string[] = [];
      for (const e of events) {
        switch (e.kind) {
          case 'submit': {
            const body = {
              vertices: [
                { id: 'a', parallelism: e.p },
                { id: 'b', parallelism: e.q },
              ],
              edges: [{ source: 'a', target: 'b', distribution: e.pointwise ? 'POINTWISE' : 'ALL_TO_ALL' }],
            };
            jobIds.push(h.dispatcher.submitJob(body).jobId);
            break;
          }
          case 'addTm':
            h.addTaskManager(`tm-${tmSeq++}`, e.slots);
            break;
          case 'loseTm': {
            const ids = [...h.registrations.keys()];
            if (ids.length === 0) break;
            const id = ids[e.which % ids.length]!;
            h.registrations.delete(id);
            h.rm.disconnectTaskManager(id, 'killed');
            break;
          }
          case 'reregisterTm': {
            const ids = [...h.registrations.keys()];
            if (ids.length === 0) break;
            h.addTaskManager(ids[e.which % ids.length]!, 2);
            break;
          }
          case 'report': {
            if (jobIds.length === 0) break;
            const id = jobIds[e.pick % jobIds.length]!;
            const descs = h.gateway.descriptors().filter((d) => d.jobId === id);
            if (descs.length === 0) break;
            const d = descs[e.pick % descs.length]!;
            h.dispatcher.updateTaskExecutionState({ jobId: id, executionAttemptId: d.executionAttemptId, state: e.state });
            break;
          }
          case 'cancel':
            if (jobIds.length > 0) h.dispatcher.cancelJob(jobIds[e.which % jobIds.length]!);
            break;
          case 'advance':
            h.clock.advance(e.ms);
            break;
          case 'unreachable': {
            const ids = [...h.registrations.keys()];
            if (ids.length > 0) h.gateway.unreachable.add(ids[e.which % ids.length]!);
            break;
          }
        }
        await h.flush();
        const broken = checkInvariants(h);
        if (broken) throw new Error(`after ${JSON.stringify(e)}: ${broken}`);
      }
      // Plenty of healthy resources: every surviving job must get all its tasks RUNNING.
      h.gateway.unreachable.clear();
      h.addTaskManager(`tm-big`, 64);
      for (let i = 0; i < 8; i++) {
        await h.flush();
        h.clock.advance(2000);
        await h.flush();
        for (const id of jobIds) h.report(id, 'RUNNING');
      }
      for (const id of jobIds) {
        const jm = h.dispatcher.runningJobMaster(id);
        if (!jm) continue;
        const done = jm.graph.totals[STATE.RUNNING]! + jm.graph.totals[STATE.FINISHED]!; // a task may finish on its own
        if (jm.status() !== 'RUNNING' || done !== jm.totalTasks()) throw new Error(`job ${id} is ${jm.status()} with ${done}/${jm.totalTasks()} tasks RUNNING or FINISHED at the end`);
      }
      const broken = checkInvariants(h);
      if (broken) throw new Error(`at the end: ${broken}`);
      h.dispatcher.close();
    }),
    { numRuns: 150 },
  );
  t.pass('invariants held');
});
