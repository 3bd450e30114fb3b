import fc from 'fast-check';
import t from 'tap';
import { ExecutionGraph, STATE, pointwiseConsumers, pointwiseInputs } from '../../app/jobs/execution-graph.js';
import { validateJobGraph } from '../../app/jobs/jobgraph.js';

/** Flink's EdgeManagerBuildUtil.connectPointwise, materialised (the reference). */
function flinkPointwise(S: number, T: number): { inputs: Set<number>[]; consumers: Set<number>[] } {
  const inputs = Array.from({ length: T }, () => new Set<number>());
  const consumers = Array.from({ length: S }, () => new Set<number>());
  const link = (p: number, c: number) => {
    inputs[c]!.add(p);
    consumers[p]!.add(c);
  };
  if (S === T) for (let i = 0; i < S; i++) link(i, i);
  else if (S > T) {
    for (let c = 0; c < T; c++) {
      const start = Math.floor((c * S) / T);
      const end = Math.floor(((c + 1) * S) / T);
      for (let p = start; p < end; p++) link(p, c);
    }
  } else {
    for (let p = 0; p < S; p++) {
      const start = Math.floor((p * T + S - 1) / S);
      const end = Math.floor(((p + 1) * T + S - 1) / S);
      for (let c = start; c < end; c++) link(p, c);
    }
  }
  return { inputs, consumers };
}

const range = ([a, b]: [number, number]) => Array.from({ length: b - a }, (_, i) => a + i);

t.test('POINTWISE index arithmetic equals Flink connectPointwise', async (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1, max: 300 }), (S, T) => {
      const ref = flinkPointwise(S, T);
      for (let c = 0; c < T; c++) {
        if (range(pointwiseInputs(S, T, c)).join() !== [...ref.inputs[c]!].sort((x, y) => x - y).join()) return false;
      }
      for (let p = 0; p < S; p++) {
        if (range(pointwiseConsumers(S, T, p)).join() !== [...ref.consumers[p]!].sort((x, y) => x - y).join()) return false;
      }
      return true;
    }),
    { numRuns: 300 },
  );
  t.pass('property holds');
});

const job = validateJobGraph({
  name: 'g',
  vertices: [
    { id: 'src', parallelism: 4 },
    { id: 'map', parallelism: 2 },
    { id: 'sink', parallelism: 3 },
    { id: 'lonely', parallelism: 5 },
    { id: 'lonely2', parallelism: 5 },
  ],
  edges: [
    { source: 'src', target: 'map', distribution: 'POINTWISE' },
    { source: 'map', target: 'sink', distribution: 'ALL_TO_ALL' },
    { source: 'lonely', target: 'lonely2', distribution: 'POINTWISE' },
  ],
});

t.test('structure: one group per ALL_TO_ALL side, shared by every subtask', async (t) => {
  const g = new ExecutionGraph(job);
  t.equal(g.totalSubtasks, 19);
  t.equal(g.slotsNeeded, 5);
  const allToAll = g.edges[1]!;
  t.ok(allToAll.consumedPartitionGroup && allToAll.consumerVertexGroup);
  t.equal(g.inputRanges(2, 0)[0], g.inputRanges(2, 2)[0], 'the same ConsumedPartitionGroup object for every consumer');
  t.equal(g.outputRanges(1, 0)[0], g.outputRanges(1, 1)[0], 'the same ConsumerVertexGroup object for every producer');
  t.same(g.inputRanges(1, 1)[0], { vertex: 0, start: 2, end: 4 }, 'pointwise 4 -> 2');
  t.same(g.inputSummaries(2, 1), [{ sourceJobVertexId: g.vertices[1]!.jobVertexId, distribution: 'ALL_TO_ALL', subtaskRange: [0, 2] }]);
});

t.test('tasks to restart = the pipelined region of the failed task', async (t) => {
  const g = new ExecutionGraph(job);
  const region = [...g.tasksToRestart(0, 0)].sort((a, b) => a - b);
  t.same(region, range([0, 4 + 2 + 3]), 'src-map-sink form one region through the all-to-all edge');
  const lonely = [...g.tasksToRestart(3, 1)];
  t.same(lonely.sort((a, b) => a - b), [9 + 1, 9 + 5 + 1], 'pointwise 5 -> 5: just the pair');
});

t.test('ExecutionAttemptIDs are 32 hex, decodable, and stale after a restart', async (t) => {
  const g = new ExecutionGraph(job, 2);
  const id = g.attemptId(2, 1);
  t.match(id, /^[0-9a-f]{32}$/);
  t.same(g.resolveAttemptId(id), { v: 2, s: 1 });
  t.equal(g.resolveAttemptId(id.toUpperCase()), undefined);
  t.equal(g.resolveAttemptId('0'.repeat(32)), undefined);
  t.equal(g.resolveAttemptId(id.slice(0, 24) + 'zzzzzzzz'), undefined);
  const other = new ExecutionGraph(job);
  t.equal(other.resolveAttemptId(id), undefined, 'another graph does not accept it');
  g.setState(2, 1, STATE.RUNNING, 5);
  g.resetForRestart();
  t.equal(g.resolveAttemptId(id), undefined, 'previous attempt is stale');
  t.not(g.attemptId(2, 1), id);
  t.equal(g.vertices[2]!.attempts[1], 1);
  t.equal(g.countIn(STATE.CREATED), g.totalSubtasks);
});

t.test('state counts and the bounded attempt history', async (t) => {
  const g = new ExecutionGraph(job, 2);
  g.setState(0, 0, STATE.DEPLOYING, 100);
  g.setState(0, 0, STATE.FAILED, 150);
  t.equal(g.vertices[0]!.counts[STATE.FAILED], 1);
  t.equal(g.countIn(STATE.CREATED), g.totalSubtasks - 1);
  t.equal(g.vertices[0]!.startTimes[0], 100);
  t.equal(g.vertices[0]!.endTimes[0], 150);
  for (let i = 0; i < 3; i++) g.resetForRestart();
  const h = g.vertices[0]!.history.entries(0);
  t.equal(h.length, 2, 'bounded to capacity');
  t.same(h.map((e) => e.attemptNumber), [2, 1], 'newest first');
  t.equal(g.vertices[1]!.history.entries(1).length, 2);
});
