// Checkpoint RPC end to end between the real RPC server, the undici gateway
// and the simulator: batched trigger per TaskManager, batched acks carrying
// synthetic state handles, declines for attempts that are not running,
// confirm, and the simulator's report of what a deployment restored from.
import t from 'tap';
import { Writable } from 'node:stream';
import pino from 'pino';
import { systemClock } from '../../app/cluster/clock.js';
import { ResourceManager } from '../../app/cluster/resource-manager.js';
import { HttpTaskExecutorGateway } from '../../app/http/rpc/gateway.js';
import type { CheckpointAcksRequest, CheckpointDeclinesRequest } from '../../app/http/rpc/protocol.js';
import { buildRpcServer } from '../../app/http/rpc/server.js';
import type { TaskDeploymentDescriptor, TaskExecutionStateUpdate, TaskExecutionStateResult } from '../../app/jobs/types.js';
import { startSimulator } from '../../app/taskmanager-sim/simulator.js';

const TOKEN = 'chk-test-token';
const JOB = 'd'.repeat(32);

async function until(what: string, check: () => boolean, attempts = 200, delayMs = 25): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, delayMs));
  }
  throw new Error(`timed out waiting for: ${what}`);
}

function descriptor(n: number, restore?: { checkpointId: number; stateHandle?: string }): TaskDeploymentDescriptor {
  return {
    jobId: JOB, jobVertexId: 'e'.repeat(32), vertexName: 'Map', subtaskIndex: n, parallelism: 2, maxParallelism: 128,
    attemptNumber: 0, executionAttemptId: `att-${n}`, allocationId: `alloc-${n}`, slotIndex: 0, config: {}, inputs: [],
    ...(restore ? { restoreCheckpoint: restore } : {}),
  };
}

t.test('trigger -> batched acks with handles; decline for unknown attempts; confirm; restore report', async (t) => {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, new Writable({ write(chunk, _enc, cb) { lines.push(JSON.parse(String(chunk))); cb(); } }));
  const resourceManager = new ResourceManager(systemClock, { heartbeatIntervalMs: 100, heartbeatTimeoutMs: 2000 });
  const acks: CheckpointAcksRequest[] = [];
  const declines: CheckpointDeclinesRequest[] = [];
  const dispatcher = {
    updateTaskExecutionStates: (b: readonly TaskExecutionStateUpdate[]): TaskExecutionStateResult[] => b.map(() => ({ applied: true }) as const),
  };
  const checkpoints = {
    acknowledgeCheckpoints(r: CheckpointAcksRequest) { acks.push(r); return { accepted: r.acks.length, ignored: 0 }; },
    declineCheckpoints(r: CheckpointDeclinesRequest) { declines.push(r); return { accepted: r.declines.length, ignored: 0 }; },
  };
  const rpc = buildRpcServer({ token: TOKEN, maxBodyBytes: 1 << 20, resourceManager, dispatcher, checkpoints });
  await rpc.listen({ host: '127.0.0.1', port: 0 });
  const port = (rpc.server.address() as { port: number }).port;
  const sim = await startSimulator({ jobManagerUrl: `http://127.0.0.1:${port}`, token: TOKEN, count: 2, slotsPerTaskManager: 1, logger, idPrefix: 'tm' });
  const gateway = new HttpTaskExecutorGateway({ token: TOKEN, rpcAddressOf: (id) => resourceManager.rpcAddressOf(id) });
  t.teardown(async () => { await gateway.close(); await sim.stop(); await rpc.close(); });
  await until('registered', () => resourceManager.slotTotals().taskManagers === 2);

  await gateway.deployTasks('tm-0', [descriptor(0, { checkpointId: 7, stateHandle: 'sim://old/0' })]);
  await gateway.deployTasks('tm-1', [descriptor(1, { checkpointId: 7 })]);
  await until('running', () => sim.taskManagers.every((tm) => tm.taskStates().every((s) => s.state === 'RUNNING')) && sim.taskManagers.every((tm) => tm.runningTaskCount === 1));
  const restored = lines.filter((l) => l.event === 'task-restored');
  t.same(restored.map((l) => [l.taskManagerId, l.executionAttemptId, l.checkpointId, l.stateHandle]).sort(), [
    ['tm-0', 'att-0', 7, 'sim://old/0'],
    ['tm-1', 'att-1', 7, undefined],
  ], 'the simulator reports what each deployment restores from');
  t.same(sim.taskManagers[0]?.checkpoints.restoredFrom('att-0'), { checkpointId: 7, stateHandle: 'sim://old/0' });

  await gateway.triggerCheckpoint('tm-0', { jobId: JOB, checkpointId: 8, timestamp: Date.now(), executionAttemptIds: ['att-0', 'gone'] });
  await gateway.triggerCheckpoint('tm-1', { jobId: JOB, checkpointId: 8, timestamp: Date.now(), executionAttemptIds: ['att-1'] });
  await until('acks', () => acks.reduce((n, a) => n + a.acks.length, 0) === 2 && declines.length === 1);
  t.equal(acks.length, 2, 'one ack batch per TaskManager');
  const a0 = acks.find((a) => a.taskManagerId === 'tm-0')!.acks[0]!;
  t.match(a0, { jobId: JOB, checkpointId: 8, executionAttemptId: 'att-0', stateHandle: `sim://tm-0/${JOB}/${'e'.repeat(32)}/0/chk-8` });
  t.ok((a0.stateSizeBytes ?? 0) > 0, 'a state size');
  t.match(declines[0]?.declines[0], { executionAttemptId: 'gone', checkpointId: 8, reason: /not known/ });

  await gateway.notifyCheckpointComplete('tm-0', { jobId: JOB, checkpointId: 8, executionAttemptIds: ['att-0'] });
  t.equal(sim.taskManagers[0]?.checkpoints.lastConfirmed(JOB), 8);
});
