import t from 'tap';
import { ManualClock } from '../../app/cluster/clock.js';
import { RegistrationError } from '../../app/cluster/errors.js';
import { MAX_TASK_MANAGER_ID_LENGTH, ResourceManager } from '../../app/cluster/resource-manager.js';
import type { SlotAllocation } from '../../app/cluster/types.js';

const HB = { heartbeatIntervalMs: 10_000, heartbeatTimeoutMs: 50_000 };
const reg = (id: string, slots = 2) => ({ taskManagerId: id, rpcAddress: 'http://127.0.0.1:4000', dataPort: 4001, numberOfSlots: slots, resources: { cpuCores: 4, memoryBytes: 1024 } });

t.test('registration returns the heartbeat settings and lists the TaskManager with Flink fields', async (t) => {
  const clock = new ManualClock();
  const rm = new ResourceManager(clock, HB);
  const r = rm.registerTaskManager(reg('tm-1', 3));
  t.match(r.registrationId, /^[0-9a-f]{32}$/);
  t.equal(r.heartbeatIntervalMs, 10_000);
  t.equal(r.heartbeatTimeoutMs, 50_000);
  const [info] = rm.listTaskManagers();
  t.ok(info);
  for (const f of ['id', 'path', 'dataPort', 'timeSinceLastHeartbeat', 'slotsNumber', 'freeSlots', 'totalResource', 'freeResource', 'hardware', 'memoryConfiguration']) {
    t.ok(f in info!, `field ${f}`);
  }
  t.equal(info!.slotsNumber, 3);
  t.equal(info!.freeSlots, 3);
  t.equal(info!.path, 'http://127.0.0.1:4000');
  t.equal(info!.hardware.cpuCores, 4);
  t.same(rm.slotTotals(), { taskManagers: 1, slotsTotal: 3, slotsAvailable: 3 });
  t.equal(rm.rpcAddressOf('tm-1'), 'http://127.0.0.1:4000');
  t.equal(rm.getTaskManager('nope'), undefined);
});

t.test('malformed registrations name the field', async (t) => {
  const rm = new ResourceManager(new ManualClock(), HB);
  const cases: [unknown, string][] = [
    [null, 'body'],
    [{ ...reg('x'), taskManagerId: '' }, 'taskManagerId'],
    [{ ...reg('x'), taskManagerId: 'a b' }, 'taskManagerId'],
    [{ ...reg('x'), taskManagerId: 'a'.repeat(MAX_TASK_MANAGER_ID_LENGTH + 1) }, 'taskManagerId'],
    [{ ...reg('x'), rpcAddress: 'ftp://x' }, 'rpcAddress'],
    [{ ...reg('x'), numberOfSlots: 0 }, 'numberOfSlots'],
    [{ ...reg('x'), numberOfSlots: 1.5 }, 'numberOfSlots'],
    [{ ...reg('x'), dataPort: 70000 }, 'dataPort'],
    [{ ...reg('x'), resources: 'lots' }, 'resources'],
    [{ ...reg('x'), resources: { cpuCores: -1 } }, 'resources.cpuCores'],
    [{ ...reg('x'), hardware: { physicalMemory: 'x' } }, 'hardware.physicalMemory'],
  ];
  for (const [body, field] of cases) {
    const err = (() => {
      try {
        rm.registerTaskManager(body as never);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    t.ok(err instanceof RegistrationError, `${field} rejected`);
    t.ok((err as RegistrationError).errors.some((m) => m.startsWith(field)), `${field} named: ${(err as RegistrationError).errors.join('; ')}`);
  }
  t.equal(rm.listTaskManagers().length, 0, 'nothing registered');
});

t.test('the longest TaskManager id the RPC schema accepts is accepted here too', async (t) => {
  const rm = new ResourceManager(new ManualClock(), HB);
  const id = 'a'.repeat(MAX_TASK_MANAGER_ID_LENGTH);
  rm.registerTaskManager({ ...reg('x'), taskManagerId: id });
  t.ok(rm.getTaskManager(id), 'registered');
});

t.test('heartbeats keep a TaskManager; silence beyond heartbeat.timeout loses it', async (t) => {
  const clock = new ManualClock();
  const rm = new ResourceManager(clock, HB);
  const lost: [string, string][] = [];
  rm.onTaskManagerLost((id, cause) => lost.push([id, cause]));
  const a = rm.registerTaskManager(reg('a'));
  rm.registerTaskManager(reg('b'));
  for (let i = 0; i < 10; i++) {
    clock.advance(10_000);
    t.same(rm.heartbeatFromTaskManager('a', a.registrationId, { slots: [] }), { accepted: true });
    rm.checkHeartbeats();
  }
  t.same(lost.map((l) => l[0]), ['b'], 'only the silent one is lost');
  t.match(lost[0]![1], /Heartbeat of TaskManager with id b .*timed out/);
  t.same(rm.listTaskManagers().map((x) => x.id), ['a']);
  t.same(rm.slotTotals(), { taskManagers: 1, slotsTotal: 2, slotsAvailable: 2 });
  // The lost one's heartbeat is refused: it must register again.
  t.same(rm.heartbeatFromTaskManager('b', 'whatever', { slots: [] }), { accepted: false, reason: 'unknown-taskmanager' });
  t.same(rm.heartbeatFromTaskManager('a', '0'.repeat(32), { slots: [] }), { accepted: false, reason: 'unknown-taskmanager' }, 'wrong registration id');
  // exactly at the timeout it is still alive; one ms later it is lost
  clock.advance(50_000);
  t.same(rm.checkHeartbeats(), []);
  clock.advance(1);
  t.same(rm.checkHeartbeats(), ['a']);
});

t.test('re-registration replaces the old instance and reports it lost', async (t) => {
  const clock = new ManualClock();
  const rm = new ResourceManager(clock, HB);
  const lost: string[] = [];
  rm.onTaskManagerLost((_id, cause) => lost.push(cause));
  const first = rm.registerTaskManager(reg('a', 2));
  let got: SlotAllocation[] = [];
  rm.requestSlots('job', 2, (s) => (got = s));
  t.equal(got.length, 2);
  const second = rm.registerTaskManager(reg('a', 4));
  t.not(first.registrationId, second.registrationId);
  t.equal(lost.length, 1);
  t.match(lost[0], /re-registered/);
  t.notOk(rm.isAllocationAlive(got[0]!.allocationId), 'old allocations died with the old instance');
  t.same(rm.slotTotals(), { taskManagers: 1, slotsTotal: 4, slotsAvailable: 4 });
  t.same(rm.heartbeatFromTaskManager('a', first.registrationId, { slots: [] }), { accepted: false, reason: 'unknown-taskmanager' });
  t.ok(rm.disconnectTaskManager('a', 'shutdown'));
  t.notOk(rm.disconnectTaskManager('a', 'shutdown'));
  t.equal(rm.slotTotals().slotsTotal, 0);
});

t.test('slot bookkeeping: gang requests, FIFO, release, waiting for registrations', async (t) => {
  const clock = new ManualClock();
  const rm = new ResourceManager(clock, HB);
  rm.registerTaskManager(reg('a', 3));
  let first: SlotAllocation[] = [];
  rm.requestSlots('j1', 2, (s) => (first = s));
  t.equal(first.length, 2, 'granted synchronously');
  t.same(rm.slotTotals().slotsAvailable, 1);
  let second: SlotAllocation[] | undefined;
  rm.requestSlots('j2', 3, (s) => (second = s));
  t.equal(second, undefined, 'not enough: waits, holds nothing');
  t.equal(rm.slotTotals().slotsAvailable, 1);
  let third: SlotAllocation[] | undefined;
  const pending = rm.requestSlots('j3', 1, (s) => (third = s));
  t.equal(third?.length, 1, 'a smaller later request fits first');
  pending.cancel(); // no-op after fulfilment
  rm.registerTaskManager(reg('b', 2));
  t.equal(second, undefined, 'still 2 free < 3');
  rm.releaseSlots(first.map((s) => s.allocationId));
  t.equal(second?.length, 3, 'granted after release');
  t.equal(rm.slotTotals().slotsAvailable, 1);
  const detail = rm.getTaskManager('a')!;
  t.equal(detail.allocatedSlots.length + detail.freeSlots, 3);
  rm.releaseSlots(['not-an-allocation', ...first.map((s) => s.allocationId)]);
  t.equal(rm.slotTotals().slotsAvailable, 1, 'double/unknown release ignored');
  let never: SlotAllocation[] | undefined;
  const waiting = rm.requestSlots('j4', 10, (s) => (never = s));
  t.equal(rm.pendingRequests(), 1);
  waiting.cancel();
  t.equal(rm.pendingRequests(), 0);
  rm.registerTaskManager(reg('c', 20));
  t.equal(never, undefined, 'cancelled requests are never granted');
});
