// The ExecutionGraph of a 2 x 10,000 ALL_TO_ALL job must retain < 64 MiB of
// heap: memory is O(subtasks + job edges), not O(subtasks^2) (Flink 1.12 needed
// over 4 GiB for this graph). Measured with forced GC.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import t from 'tap';
import { ExecutionGraph } from '../../app/jobs/execution-graph.js';
import { validateJobGraph } from '../../app/jobs/jobgraph.js';
import { THREE_VERTEX_JOB, harness } from './harness.js';

function getGc(): () => void {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (existing) return existing;
  // Same effect as starting node with --expose-gc, for this file only.
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

function retainedBytes<T>(build: () => T): { bytes: number; value: T } {
  const gc = getGc();
  for (let i = 0; i < 3; i++) gc();
  // Typed arrays live in ArrayBuffer backing stores outside the V8 heap
  // proper: count them too, or the compact columns would look free.
  const used = (): number => {
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  };
  const before = used();
  const value = build();
  for (let i = 0; i < 3; i++) gc();
  const after = used();
  return { bytes: after - before, value };
}

const MiB = 1024 * 1024;
const bigJob = {
  name: 'wide',
  vertices: [
    { id: 'source', parallelism: 10_000, maxParallelism: 16_384 },
    { id: 'sink', parallelism: 10_000, maxParallelism: 16_384 },
  ],
  edges: [{ source: 'source', target: 'sink', distribution: 'ALL_TO_ALL' }],
};

t.test('ExecutionGraph of 2 x 10,000 all-to-all retains < 64 MiB', async (t) => {
  const jobGraph = validateJobGraph(bigJob);
  const { bytes, value } = retainedBytes(() => new ExecutionGraph(jobGraph, 16));
  t.equal(value.totalSubtasks, 20_000);
  t.comment(`retained ${(bytes / MiB).toFixed(2)} MiB`);
  t.ok(bytes < 64 * MiB, `retained ${(bytes / MiB).toFixed(2)} MiB < 64 MiB`);
  // A restart fills the bounded attempt history; still bounded.
  const { bytes: afterRestarts } = retainedBytes(() => {
    for (let i = 0; i < 20; i++) value.resetForRestart();
    return value;
  });
  t.ok(bytes + afterRestarts < 64 * MiB, `with 16 attempts of history: ${((bytes + afterRestarts) / MiB).toFixed(2)} MiB`);
  t.equal(value.tasksToRestart(0, 17).length, 20_000);
});

t.test('a whole running 2 x 10,000 job (Dispatcher + JobMaster + slots) stays well under 64 MiB', async (t) => {
  const h = harness();
  const { bytes } = retainedBytes(() => {
    for (let i = 0; i < 20; i++) h.addTaskManager(`tm-${i}`, 1000);
    const { jobId } = h.dispatcher.submitJob(bigJob);
    return jobId;
  });
  t.comment(`job incl. 20 TaskManagers x 1000 slots: ${(bytes / MiB).toFixed(2)} MiB`);
  t.ok(bytes < 64 * MiB);
  h.dispatcher.close();
  t.ok(THREE_VERTEX_JOB);
});
