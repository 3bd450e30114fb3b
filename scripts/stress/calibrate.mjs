// Measures the JobManager's retained V8 heap per unit of workload with forced
// GC on the real domain objects (ResourceManager, Dispatcher/JobMaster/
// ExecutionGraph, archive, byte-bounded caches). Run after `npx tsc -p .`:
//   node --expose-gc scripts/stress/calibrate.mjs [--json]
// The figures feed app/memory/footprint.ts (rounded up) and docs/sizing.md.
import { ResourceManager } from '../../dist/cluster/resource-manager.js';
import { Dispatcher } from '../../dist/jobs/dispatcher.js';
import { ManualClock } from '../../dist/cluster/clock.js';
import { estimateEntryBytes } from '../../dist/memory/caches.js';

if (typeof globalThis.gc !== 'function') {
  console.error('run with node --expose-gc');
  process.exit(64);
}
const gc = () => {
  for (let i = 0; i < 4; i++) globalThis.gc();
};
const heap = () => {
  gc();
  return process.memoryUsage().heapUsed;
};
const flush = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

function cluster(taskManagers, slots) {
  const clock = new ManualClock();
  const rm = new ResourceManager(clock, { heartbeatIntervalMs: 10_000, heartbeatTimeoutMs: 50_000 });
  const gateway = { deployTasks: async () => {}, cancelTasks: async () => {} };
  const dispatcher = new Dispatcher({
    clock,
    resourceManager: rm,
    gateway,
    options: {
      slotRequestTimeoutMs: 300_000,
      defaultRestartStrategy: { type: 'none' },
      archivedJobsMax: 1_000_000,
      attemptHistorySize: 16,
      exceptionHistorySize: 16,
    },
  });
  for (let i = 0; i < taskManagers; i++) {
    rm.registerTaskManager({
      taskManagerId: `tm-${i}`,
      rpcAddress: `http://127.0.0.1:${20000 + (i % 40000)}`,
      numberOfSlots: slots,
      resources: { cpuCores: 1, physicalMemoryBytes: 1 << 30, freeMemoryBytes: 1 << 29, managedMemoryBytes: 1 << 28, networkMemoryBytes: 1 << 26 },
    });
  }
  return { clock, rm, dispatcher };
}

function jobGraph(name, vertices, parallelism) {
  const vs = Array.from({ length: vertices }, (_, i) => ({ id: `v${i}`, name: `${name}-op-${i}`, parallelism }));
  const edges = vs.slice(1).map((v, i) => ({ source: `v${i}`, target: v.id, distribution: i % 2 === 0 ? 'ALL_TO_ALL' : 'POINTWISE' }));
  return { name, vertices: vs, edges };
}

async function runAll(dispatcher, jobId) {
  const jm = dispatcher.runningJobMaster(jobId);
  await flush();
  for (const a of jm.currentAttempts()) {
    dispatcher.updateTaskExecutionState({ jobId, executionAttemptId: a.executionAttemptId, state: 'INITIALIZING' });
    dispatcher.updateTaskExecutionState({ jobId, executionAttemptId: a.executionAttemptId, state: 'RUNNING' });
  }
  await flush();
  return jm.status();
}

const results = {};

// --- TaskManagers
{
  const n = 2000;
  const before = heap();
  const c = cluster(n, 4);
  const after = heap();
  results.perTaskManager4Slots = (after - before) / n;
  const c2 = cluster(0, 1);
  const b2 = heap();
  for (let i = 0; i < n; i++) {
    c2.rm.registerTaskManager({ taskManagerId: `x-${i}`, rpcAddress: `http://127.0.0.1:${20000 + i}`, numberOfSlots: 64, resources: { cpuCores: 1, physicalMemoryBytes: 1, freeMemoryBytes: 1, managedMemoryBytes: 1, networkMemoryBytes: 1 } });
  }
  const a2 = heap();
  results.perTaskManager64Slots = (a2 - b2) / n;
  results.perSlot = (results.perTaskManager64Slots - results.perTaskManager4Slots) / 60;
  results.perTaskManager = results.perTaskManager4Slots - 4 * results.perSlot;
  globalThis.__keep = [c, c2];
}

// --- jobs: fixed cost and per-subtask cost, RUNNING
async function jobsHeap(jobs, vertices, parallelism) {
  const c = cluster(Math.ceil((jobs * parallelism) / 64) + 1, 64);
  const before = heap();
  const ids = [];
  for (let j = 0; j < jobs; j++) {
    const { jobId } = c.dispatcher.submitJob(jobGraph(`job-${j}`, vertices, parallelism));
    ids.push(jobId);
  }
  const states = new Set();
  for (const id of ids) states.add(await runAll(c.dispatcher, id));
  const after = heap();
  return { perJob: (after - before) / jobs, states: [...states], c, ids };
}
{
  const small = await jobsHeap(200, 2, 1);
  const big = await jobsHeap(20, 2, 500);
  const wide = await jobsHeap(100, 8, 1);
  results.jobStates = [...new Set([...small.states, ...big.states, ...wide.states])];
  results.perSubtask = (big.perJob - small.perJob) / (2 * 500 - 2);
  results.perJobVertexAndEdge = (wide.perJob - small.perJob) / 6; // 6 more vertices, 6 more edges
  results.perJob2x1 = small.perJob;
  results.perJobFixed = small.perJob - 2 * results.perJobVertexAndEdge - 2 * results.perSubtask;
  results.perJob2x500 = big.perJob;

  globalThis.__keep2 = [small, big, wide];
}


// --- checkpoints: retained completed checkpoints and pending acks, per subtask
{
  const { CheckpointCoordinator } = await import('../../dist/checkpoints/coordinator.js');
  const { JobCheckpointStore } = await import('../../dist/checkpoints/checkpoint-store.js');
  const { BUILTIN_CHECKPOINT_DEFAULTS, resolveCheckpointSettings } = await import('../../dist/checkpoints/settings.js');
  const path = await import('node:path');
  // Minimal in-memory DurableFs (file bytes live off-heap in Buffers).
  const memFs = () => {
    const files = new Map();
    const dirs = new Set(['/']);
    return {
      async mkdir(p) { while (p !== '/' && !dirs.has(p)) { dirs.add(p); p = path.dirname(p); } },
      async openForWrite(p) { files.set(p, Buffer.alloc(0)); return { write: async (d) => void files.set(p, Buffer.concat([files.get(p), Buffer.from(d)])), sync: async () => {}, close: async () => {} }; },
      async rename(a, b) { files.set(b, files.get(a)); files.delete(a); },
      async syncDir() {},
      async readFile(p) { const b = files.get(p); if (!b) { const e = new Error('ENOENT'); e.code = 'ENOENT'; throw e; } return b; },
      async readdir(p) { const out = new Set(); for (const f of [...files.keys(), ...dirs]) if (path.dirname(f) === p && f !== p) out.add(path.basename(f)); return [...out]; },
      async unlink(p) { files.delete(p); },
      async removeTree(p) { for (const f of [...files.keys()]) if (f.startsWith(p)) files.delete(f); },
      async isDirectory(p) { return dirs.has(p); },
    };
  };
  async function coordinatorHeap(subtasks, retained, completedCount) {
    const clock = new ManualClock(1_000_000);
    const triggers = [];
    const gateway = { triggerCheckpoint: async (tm, req) => void triggers.push(req), notifyCheckpointComplete: async () => {}, notifyCheckpointAborted: async () => {} };
    const settings = resolveCheckpointSettings({ interval: 100, timeout: 1_000_000, retained, maxConcurrent: 1 }, { ...BUILTIN_CHECKPOINT_DEFAULTS, historySize: 10 });
    const jobId = 'c'.repeat(32);
    const store = new JobCheckpointStore({ fs: memFs(), jobDir: `/data/jobs/${jobId}`, jobId, retained });
    const coordinator = new CheckpointCoordinator({ jobId, settings, clock, gateway, store, onFailover: () => {} });
    await coordinator.initialize();
    const tasks = [];
    for (let i = 0; i < subtasks; i++) tasks.push({ executionAttemptId: i.toString(16).padStart(32, '0'), taskManagerId: `tm-${i % 50}`, vertexId: `v${i % 2}`, subtaskIndex: Math.floor(i / 2) });
    const b = heap();
    coordinator.start(tasks);
    for (let n = 0; n < completedCount; n++) {
      const before = triggers.length;
      for (let i = 0; i < 1000 && triggers.length === before; i++) { clock.advance(10); await flush(); }
      const id = triggers.at(-1).checkpointId;
      coordinator.acknowledge(tasks.map((t) => ({ checkpointId: id, executionAttemptId: t.executionAttemptId, stateHandle: `file:///data/state/${id}/${t.executionAttemptId}`, stateSizeBytes: 1000 })));
      await flush();
      await flush();
    }
    // one more pending checkpoint, acked by all but one subtask
    const before = triggers.length;
    for (let i = 0; i < 1000 && triggers.length === before; i++) { clock.advance(10); await flush(); }
    const id = triggers.at(-1).checkpointId;
    coordinator.acknowledge(tasks.slice(1).map((t) => ({ checkpointId: id, executionAttemptId: t.executionAttemptId, stateHandle: `file:///data/state/${id}/${t.executionAttemptId}`, stateSizeBytes: 1000 })));
    await flush();
    const a = heap();
    globalThis.__cp = (globalThis.__cp ?? []).concat([coordinator, store]);
    return a - b;
  }
  const n = 4000;
  const r1 = await coordinatorHeap(n, 1, 12);
  const r5 = await coordinatorHeap(n, 5, 12);
  results.checkpointHeapRetained1 = r1;
  results.checkpointHeapRetained5 = r5;
  results.perRetainedCheckpointSubtask = (r5 - r1) / (4 * n);
  // r1 = tasks index + 1 retained + 1 pending + history: attribute all but the retained part to the pending one
  results.perPendingCheckpointSubtask = (r1 - results.perRetainedCheckpointSubtask * n) / n;
}

{
  // archived entries: JSON size vs retained heap
  const c = cluster(10, 64);
  const ids = [];
  for (let j = 0; j < 300; j++) ids.push(c.dispatcher.submitJob(jobGraph(`arch-${j}`, 8, 4)).jobId);
  for (const id of ids) await runAll(c.dispatcher, id);
  const b = heap();
  for (const id of ids) c.dispatcher.cancelJob(id);
  await flush();
  const a = heap();
  const archive = c.dispatcher.archive;
  const entry = archive?.get(ids[0]);
  const json = entry ? Buffer.byteLength(JSON.stringify(entry)) : 0;
  results.archivedJob8VerticesJsonBytes = json;
  results.archivedJob8VerticesCacheEstimate = entry ? estimateEntryBytes(entry) : 0;
  // Retained heap of the archive alone: move its entries to an array, empty the archive, then drop the array.
  const saved = [...archive.entries()];
  archive.clear();
  const b3 = heap();
  saved.length = 0;
  const a3 = heap();
  results.perArchivedJob8Vertices = (b3 - a3) / ids.length;
}

for (const [k, v] of Object.entries(results)) if (typeof v === 'number') results[k] = Math.round(v);
console.log(process.argv.includes('--json') ? JSON.stringify(results) : results);
