// The simulator against the real RPC server (loopback, ephemeral ports) with
// the real ResourceManager and a recording Dispatcher: registration,
// heartbeats, deploy/cancel through the undici gateway, batched state
// reports, re-registration after loss. Bounded polling, no speed assertions.
import t from 'tap';
import pino from 'pino';
import { systemClock } from '../../app/cluster/clock.js';
import { ResourceManager } from '../../app/cluster/resource-manager.js';
import { HttpTaskExecutorGateway } from '../../app/http/rpc/gateway.js';
import { buildRpcServer } from '../../app/http/rpc/server.js';
import type { TaskDeploymentDescriptor, TaskExecutionStateUpdate, TaskExecutionStateResult } from '../../app/jobs/types.js';
import { startSimulator } from '../../app/taskmanager-sim/simulator.js';

const TOKEN = 'sim-test-token';
const logger = pino({ level: 'silent' });

async function until(what: string, check: () => boolean, attempts = 800, delayMs = 25): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, delayMs));
  }
  throw new Error(`timed out waiting for: ${what}`);
}

async function startJobManager(port = 0) {
  // Short interval, a timeout with room for a busy machine (these tests share 2 cores with the suite).
  const resourceManager = new ResourceManager(systemClock, { heartbeatIntervalMs: 50, heartbeatTimeoutMs: 1000 });
  const updates: TaskExecutionStateUpdate[] = [];
  const dispatcher = {
    updateTaskExecutionStates(batch: readonly TaskExecutionStateUpdate[]): TaskExecutionStateResult[] {
      updates.push(...batch);
      return batch.map(() => ({ applied: true }) as const);
    },
  };
  const app = buildRpcServer({ token: TOKEN, maxBodyBytes: 1 << 20, resourceManager, dispatcher });
  await app.listen({ host: '127.0.0.1', port });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  const timer = setInterval(() => resourceManager.checkHeartbeats(), 25);
  return {
    resourceManager, updates, app, port: address.port,
    url: `http://127.0.0.1:${address.port}`,
    async stop() { clearInterval(timer); await app.close(); },
  };
}

function descriptor(jobId: string, n: number, slotIndex: number, config: Record<string, string> = {}, attemptNumber = 0): TaskDeploymentDescriptor {
  return {
    jobId, jobVertexId: 'f'.repeat(32), vertexName: 'Map', subtaskIndex: n, parallelism: 4, maxParallelism: 128,
    attemptNumber, executionAttemptId: `${jobId.slice(0, 8)}-${n}-${attemptNumber}`, allocationId: `alloc-${slotIndex}`,
    slotIndex, config, inputs: [],
  };
}

const statesOf = (updates: TaskExecutionStateUpdate[], attemptId: string) =>
  updates.filter((u) => u.executionAttemptId === attemptId).map((u) => u.state);

t.test('N TaskManagers register with their own identity and heartbeat', async (t) => {
  const jm = await startJobManager();
  const sim = await startSimulator({ jobManagerUrl: jm.url, token: TOKEN, count: 3, slotsPerTaskManager: 2, logger, idPrefix: 'tm' });
  t.teardown(async () => { await sim.stop(); await jm.stop(); });
  await until('3 TaskManagers registered', () => jm.resourceManager.slotTotals().taskManagers === 3);
  t.same(jm.resourceManager.listTaskManagers().map((i) => i.id).sort(), ['tm-0', 'tm-1', 'tm-2']);
  t.equal(jm.resourceManager.slotTotals().slotsTotal, 6);
  // Heartbeats keep them alive well past the timeout.
  await new Promise((r) => setTimeout(r, 2100));
  t.equal(jm.resourceManager.slotTotals().taskManagers, 3, 'still registered after > 2x heartbeat timeout');
  t.equal(jm.resourceManager.getTaskManager('tm-1')?.path, sim.rpcAddress);
});

t.test('the advertised host goes into the registered rpcAddress', async (t) => {
  // Tests bind loopback only; 'localhost' stands in for a pod IP.
  const jm = await startJobManager();
  const sim = await startSimulator({ jobManagerUrl: jm.url, token: TOKEN, count: 1, slotsPerTaskManager: 1, logger, idPrefix: 'g', advertisedHost: 'localhost' });
  t.teardown(async () => { await sim.stop(); await jm.stop(); });
  t.match(sim.rpcAddress, /^http:\/\/localhost:\d+$/);
  await until('registered', () => jm.resourceManager.slotTotals().taskManagers === 1);
  t.equal(jm.resourceManager.rpcAddressOf('g-0'), sim.rpcAddress);
});

t.test('deploy, state reports, idempotent retry, cancel, synthetic finish and failure', async (t) => {
  const jm = await startJobManager();
  const sim = await startSimulator({ jobManagerUrl: jm.url, token: TOKEN, count: 2, slotsPerTaskManager: 4, logger, idPrefix: 'tm' });
  const gateway = new HttpTaskExecutorGateway({ token: TOKEN, rpcAddressOf: (id) => jm.resourceManager.rpcAddressOf(id) });
  t.teardown(async () => { await gateway.close(); await sim.stop(); await jm.stop(); });
  await until('registered', () => jm.resourceManager.slotTotals().taskManagers === 2);

  const job = 'a'.repeat(32);
  const batch = [
    descriptor(job, 0, 0),
    descriptor(job, 1, 1, { 'sim.finish-after-ms': '50' }),
    descriptor(job, 2, 2, { 'sim.fail-after-ms': '50' }),
    descriptor(job, 3, 3, { 'sim.finish-after-ms': 'soon' }),
  ];
  await gateway.deployTasks('tm-0', batch);
  await gateway.deployTasks('tm-0', batch); // a retried deploy starts nothing twice
  await until('reports', () => statesOf(jm.updates, batch[0]!.executionAttemptId).includes('RUNNING')
    && statesOf(jm.updates, batch[1]!.executionAttemptId).includes('FINISHED')
    && statesOf(jm.updates, batch[2]!.executionAttemptId).includes('FAILED'));
  t.same(statesOf(jm.updates, batch[0]!.executionAttemptId), ['INITIALIZING', 'RUNNING']);
  t.same(statesOf(jm.updates, batch[1]!.executionAttemptId), ['INITIALIZING', 'RUNNING', 'FINISHED']);
  t.same(statesOf(jm.updates, batch[2]!.executionAttemptId), ['INITIALIZING', 'RUNNING', 'FAILED']);
  t.match(jm.updates.find((u) => u.state === 'FAILED' && u.executionAttemptId === batch[2]!.executionAttemptId)?.failure,
    { class: 'SyntheticTaskFailure', message: /sim\.fail-after-ms=50 on TaskManager tm-0/ });
  t.match(jm.updates.find((u) => u.state === 'FAILED' && u.executionAttemptId === batch[3]!.executionAttemptId)?.failure,
    { message: /sim\.finish-after-ms must be an integer.*"soon"/ });

  const tm0 = sim.taskManagers[0]!;
  t.equal(tm0.runningTaskCount, 1, 'only the unbounded task still runs');
  await gateway.cancelTasks('tm-0', [batch[0]!.executionAttemptId, 'never-deployed']);
  await gateway.cancelTasks('tm-0', [batch[0]!.executionAttemptId]); // idempotent
  await until('canceled', () => statesOf(jm.updates, batch[0]!.executionAttemptId).includes('CANCELED'));
  t.equal(tm0.runningTaskCount, 0);
  t.same(statesOf(jm.updates, batch[0]!.executionAttemptId), ['INITIALIZING', 'RUNNING', 'CANCELED']);

  await t.rejects(gateway.deployTasks('tm-0', [descriptor(job, 9, 99)]), { name: 'TaskExecutorGatewayError', statusCode: 400, message: /slotIndex 99 is out of range/ });
  await t.rejects(gateway.deployTasks('tm-nope', [descriptor(job, 0, 0)]), { message: /not registered/ });
  t.equal(gateway.openPools, 1);
  await gateway.releaseTaskManager('tm-0');
  t.equal(gateway.openPools, 0);
});

t.test('slot sharing: several attempts per slot; a new allocation in a slot replaces the old attempts', async (t) => {
  const jm = await startJobManager();
  const sim = await startSimulator({ jobManagerUrl: jm.url, token: TOKEN, count: 1, slotsPerTaskManager: 2, logger, idPrefix: 'tm' });
  const gateway = new HttpTaskExecutorGateway({ token: TOKEN, rpcAddressOf: (id) => jm.resourceManager.rpcAddressOf(id) });
  t.teardown(async () => { await gateway.close(); await sim.stop(); await jm.stop(); });
  await until('registered', () => jm.resourceManager.slotTotals().taskManagers === 1);
  const job = 'd'.repeat(32);
  const a = { ...descriptor(job, 0, 0), jobVertexId: '1'.repeat(32), executionAttemptId: 'src-0' };
  const b = { ...descriptor(job, 0, 0), jobVertexId: '2'.repeat(32), executionAttemptId: 'map-0' };
  await gateway.deployTasks('tm-0', [a, b]);
  const tm = sim.taskManagers[0]!;
  await until('both running', () => tm.taskStates().filter((s) => s.state === 'RUNNING').length === 2);
  t.same(tm.taskStates().map((s) => s.slotIndex), [0, 0], 'two attempts share slot 0');
  await t.rejects(gateway.deployTasks('tm-0', [{ ...a, executionAttemptId: 'x', allocationId: 'other' }, { ...b, executionAttemptId: 'y' }]),
    { statusCode: 400, message: /allocationId .* differs/ }, 'one slot, two allocations in a batch');
  const c = { ...a, executionAttemptId: 'src-0-attempt-1', attemptNumber: 1, allocationId: 'alloc-new' };
  await gateway.deployTasks('tm-0', [c]);
  await until('old attempts canceled', () => statesOf(jm.updates, 'src-0').includes('CANCELED') && statesOf(jm.updates, 'map-0').includes('CANCELED'));
  t.same(tm.taskStates().map((s) => s.executionAttemptId), ['src-0-attempt-1']);
});

t.test('sim.fail-attempts heals on restart; fail-subtasks picks subtasks', async (t) => {
  const jm = await startJobManager();
  const sim = await startSimulator({ jobManagerUrl: jm.url, token: TOKEN, count: 1, slotsPerTaskManager: 4, logger, idPrefix: 'tm' });
  const gateway = new HttpTaskExecutorGateway({ token: TOKEN, rpcAddressOf: (id) => jm.resourceManager.rpcAddressOf(id) });
  t.teardown(async () => { await gateway.close(); await sim.stop(); await jm.stop(); });
  await until('registered', () => jm.resourceManager.slotTotals().taskManagers === 1);
  const job = 'b'.repeat(32);
  const config = { 'sim.fail-after-ms': '10', 'sim.fail-attempts': '1', 'sim.fail-subtasks': '1' };
  const first = [descriptor(job, 0, 0, config, 0), descriptor(job, 1, 1, config, 0)];
  const second = [descriptor(job, 1, 2, config, 1)];
  await gateway.deployTasks('tm-0', first);
  await gateway.deployTasks('tm-0', second);
  await until('attempt 0 of subtask 1 failed', () => statesOf(jm.updates, first[1]!.executionAttemptId).includes('FAILED'));
  await new Promise((r) => setTimeout(r, 100));
  t.notOk(statesOf(jm.updates, first[0]!.executionAttemptId).includes('FAILED'), 'subtask 0 is not in sim.fail-subtasks');
  t.notOk(statesOf(jm.updates, second[0]!.executionAttemptId).includes('FAILED'), 'attempt 1 is past sim.fail-attempts');
});

t.test('forgotten by the JobManager: frees its slots and registers again', async (t) => {
  const jm = await startJobManager();
  const sim = await startSimulator({ jobManagerUrl: jm.url, token: TOKEN, count: 1, slotsPerTaskManager: 2, logger, idPrefix: 'tm' });
  const gateway = new HttpTaskExecutorGateway({ token: TOKEN, rpcAddressOf: (id) => jm.resourceManager.rpcAddressOf(id) });
  t.teardown(async () => { await gateway.close(); await sim.stop(); await jm.stop(); });
  await until('registered', () => jm.resourceManager.slotTotals().taskManagers === 1);
  await gateway.deployTasks('tm-0', [descriptor('c'.repeat(32), 0, 0)]);
  const tm = sim.taskManagers[0]!;
  await until('running', () => tm.runningTaskCount === 1);
  jm.resourceManager.disconnectTaskManager('tm-0', 'test');
  await until('re-registered', () => tm.registrations === 2 && jm.resourceManager.slotTotals().taskManagers === 1);
  t.equal(tm.runningTaskCount, 0, 'tasks of the old registration were dropped');
});

t.test('JobManager unreachable then back on the same port: the TaskManager registers again', async (t) => {
  let jm = await startJobManager();
  const port = jm.port;
  const sim = await startSimulator({ jobManagerUrl: jm.url, token: TOKEN, count: 2, slotsPerTaskManager: 1, logger, idPrefix: 'tm', registrationRetryMs: 50 });
  t.teardown(async () => { await sim.stop(); await jm.stop(); });
  await until('registered', () => jm.resourceManager.slotTotals().taskManagers === 2);
  await jm.stop();
  await until('TaskManagers notice the loss', () => sim.taskManagers.every((tm) => !tm.isRegistered), 1200);
  jm = await startJobManager(port); // a fresh JobManager knows nobody
  await until('registered at the new JobManager', () => jm.resourceManager.slotTotals().taskManagers === 2, 1200);
  t.ok(sim.taskManagers.every((tm) => tm.registrations >= 2));
});
