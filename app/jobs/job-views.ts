// Flink REST API v1 views of a JobMaster (pure functions: no I/O).
import { NUM_STATES, STATE } from './execution-graph.js';
import type { ExecutionJobVertex } from './execution-graph.js';
import type { JobMaster } from './job-master.js';
import {
  EXECUTION_STATES,
  TERMINAL_JOB_STATUSES,
  type ExceptionHistoryEntry,
  type ExecutionState,
  type JobDetails,
  type JobDetailsVertex,
  type JobExceptions,
  type JobOverviewEntry,
  type JobPlan,
  type TaskCountsLower,
  type TaskCountsUpper,
  type VertexMetrics,
} from './types.js';

const ZERO_METRICS: VertexMetrics = {
  'read-bytes': 0,
  'read-bytes-complete': true,
  'write-bytes': 0,
  'write-bytes-complete': true,
  'read-records': 0,
  'read-records-complete': true,
  'write-records': 0,
  'write-records-complete': true,
  'accumulated-backpressured-time': 0,
  'accumulated-idle-time': 0,
  'accumulated-busy-time': 0,
};

function upperCounts(counts: ArrayLike<number>): TaskCountsUpper {
  const out = {} as TaskCountsUpper;
  EXECUTION_STATES.forEach((s, i) => (out[s] = counts[i] ?? 0));
  return out;
}

function lowerCounts(counts: ArrayLike<number>, total: number): TaskCountsLower {
  const out = {} as TaskCountsLower;
  EXECUTION_STATES.forEach((s, i) => (out[s.toLowerCase() as Lowercase<ExecutionState>] = counts[i] ?? 0));
  out.total = total;
  return out;
}

/** Flink's ExecutionJobVertex.getAggregateJobVertexState. */
export function aggregateVertexState(counts: ArrayLike<number>, parallelism: number): ExecutionState {
  for (let i = 0; i < NUM_STATES; i++) if (counts[i] === parallelism) return EXECUTION_STATES[i]!;
  const c = (s: ExecutionState): number => counts[STATE[s]] ?? 0;
  if (c('FAILED') > 0) return 'FAILED';
  if (c('CANCELING') > 0) return 'CANCELING';
  if (c('CANCELED') > 0) return 'CANCELED';
  if (c('INITIALIZING') > 0) return 'INITIALIZING';
  if (c('RUNNING') > 0 || c('FINISHED') > 0) return 'RUNNING';
  if (c('DEPLOYING') > 0) return 'DEPLOYING';
  if (c('SCHEDULED') > 0) return 'SCHEDULED';
  return 'CREATED';
}

function vertexTimes(v: ExecutionJobVertex, now: number): { start: number; end: number; duration: number } {
  let start = Infinity;
  let end = -1;
  let allEnded = true;
  for (let s = 0; s < v.parallelism; s++) {
    const st = v.startTimes[s]!;
    if (st >= 0 && st < start) start = st;
    const en = v.endTimes[s]!;
    if (en < 0) allEnded = false;
    else if (en > end) end = en;
  }
  if (start === Infinity) return { start: -1, end: -1, duration: -1 };
  if (!allEnded) end = -1;
  return { start, end, duration: (end >= 0 ? end : now) - start };
}

function jobTimes(jm: JobMaster, now: number): { start: number; end: number; duration: number } {
  const status = jm.status();
  const start = jm.timestamps.INITIALIZING;
  const end = TERMINAL_JOB_STATUSES.has(status) ? jm.timestamps[status] : -1;
  return { start, end, duration: (end >= 0 ? end : now) - start };
}

export function jobPlan(jm: JobMaster): JobPlan {
  const g = jm.graph;
  return {
    jid: jm.jobId,
    name: jm.jobGraph.name,
    type: 'STREAMING',
    nodes: g.vertices.map((v) => ({
      id: v.jobVertexId,
      parallelism: v.parallelism,
      operator: '',
      operator_strategy: '',
      description: v.spec.name,
      ...(v.inputs.length > 0
        ? {
            inputs: v.inputs.map((e, num) => {
              const producer = g.vertices[e.producer]!;
              const ship =
                e.distribution === 'ALL_TO_ALL' ? 'REBALANCE' : producer.parallelism === v.parallelism ? 'FORWARD' : 'RESCALE';
              return { num, id: producer.jobVertexId, ship_strategy: ship, exchange: 'pipelined_bounded' };
            }),
          }
        : {}),
      optimizer_properties: {},
    })),
  };
}

export function jobOverviewEntry(jm: JobMaster, now: number): JobOverviewEntry {
  const t = jobTimes(jm, now);
  return {
    jid: jm.jobId,
    name: jm.jobGraph.name,
    state: jm.status(),
    'start-time': t.start,
    'end-time': t.end,
    duration: t.duration,
    'last-modification': jm.lastModification,
    tasks: lowerCounts(jm.graph.totals, jm.graph.totalSubtasks),
  };
}

export function jobDetails(jm: JobMaster, now: number): JobDetails {
  const t = jobTimes(jm, now);
  const vertices: JobDetailsVertex[] = jm.graph.vertices.map((v) => {
    const vt = vertexTimes(v, now);
    return {
      id: v.jobVertexId,
      name: v.spec.name,
      maxParallelism: v.spec.maxParallelism,
      parallelism: v.parallelism,
      status: aggregateVertexState(v.counts, v.parallelism),
      'start-time': vt.start,
      'end-time': vt.end,
      duration: vt.duration,
      tasks: upperCounts(v.counts),
      metrics: ZERO_METRICS,
    };
  });
  // Flink's status-counts count job VERTICES per aggregate state.
  const statusCounts = upperCounts(new Array<number>(NUM_STATES).fill(0));
  for (const v of vertices) statusCounts[v.status]++;
  return {
    jid: jm.jobId,
    name: jm.jobGraph.name,
    isStoppable: false,
    state: jm.status(),
    'job-type': 'STREAMING',
    'start-time': t.start,
    'end-time': t.end,
    duration: t.duration,
    maxParallelism: Math.max(...jm.graph.vertices.map((v) => v.spec.maxParallelism)),
    now,
    timestamps: { ...jm.timestamps },
    vertices,
    'status-counts': statusCounts,
    plan: jobPlan(jm),
  };
}

export function jobExceptions(jm: JobMaster, maxExceptions = 20): JobExceptions {
  return exceptionsView(jm.exceptionHistory(), maxExceptions);
}

/** Flink's /jobs/:jobid/exceptions from an exception history (newest first). */
export function exceptionsView(history: { entries: readonly ExceptionHistoryEntry[]; dropped: number }, maxExceptions = 20): JobExceptions {
  const { entries, dropped } = history;
  const limit = Math.max(0, Math.floor(maxExceptions));
  const shown = entries.slice(0, limit);
  const root = entries[0];
  return {
    'root-exception': root ? root.stacktrace : null,
    timestamp: root ? root.timestamp : null,
    'all-exceptions': shown
      .filter((e) => e.taskName !== null)
      .map((e) => ({
        exception: e.stacktrace,
        task: e.taskName ?? '',
        location: e.location ?? '(unassigned)',
        timestamp: e.timestamp,
        taskManagerId: e.taskManagerId ?? '(unassigned)',
      })),
    truncated: entries.length > limit || dropped > 0,
    exceptionHistory: { entries: shown.map((e) => ({ ...e, concurrentExceptions: [...e.concurrentExceptions] })), truncated: entries.length > limit || dropped > 0 },
  };
}
