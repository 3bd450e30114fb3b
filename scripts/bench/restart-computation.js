// Computing the tasks to restart after one task fails (pipelined region
// failover), 2 x 10,000 all-to-all job.
import { WIDE_JOB, dist, fmt, median, timeMs } from './util.js';

export const meta = {
  id: 'restart-computation',
  title: 'Tasks to restart after one task fails, 2 x 10,000 ALL_TO_ALL',
  anchor: 'Flink 1.14: 170 ms (Flink blog, "Scheduler performance improvements", 2022).',
};

export async function run() {
  const { validateJobGraph } = await dist('jobs/jobgraph.js');
  const { ExecutionGraph } = await dist('jobs/execution-graph.js');
  const graph = new ExecutionGraph(validateJobGraph(WIDE_JOB), 16);
  const RUNS = 21;
  const times = [];
  let count = 0;
  for (let i = 0; i < RUNS + 3; i++) {
    const failedSubtask = (i * 7919) % 10_000;
    const ms = await timeMs(() => {
      count = graph.tasksToRestart(1, failedSubtask).length;
    });
    if (i >= 3) times.push(ms);
  }
  return {
    rows: [
      { metric: 'tasks to restart (region of the failed task), median', value: fmt(median(times), 3), unit: 'ms', anchor: 'Flink 1.14: 170 ms' },
      { metric: 'tasks in the region', value: count, unit: 'tasks' },
    ],
    notes: [
      `${RUNS} measured runs after 3 warm-up runs, a different failed subtask each time. Breadth-first search over subtasks in which an ALL_TO_ALL group is expanded once, not once per member: O(subtasks + edges). ` +
        'The JobMaster currently restarts the whole job (the region of a connected streaming job is the whole job anyway).',
    ],
  };
}
