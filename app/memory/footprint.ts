// Heap footprint estimates of what the JobManager coordinates: per job,
// subtask, edge group, retained checkpoint, TaskManager and archived job.
// The constants are MEASURED (retained V8 heap after forced GC on the real
// ExecutionGraph / ResourceManager / caches; scripts/stress/calibrate.ts, table
// in docs/sizing.md) and rounded up; admission control and `jobmanager size`
// both use them, so a job admitted by one is sized by the other.
import type { JobGraph } from '../jobs/types.js';

export interface FootprintConstants {
  /** Fixed cost of one job: JobMaster, ExecutionGraph shell, timers, status history. */
  readonly perJobBytes: number;
  /** Per job vertex (ExecutionJobVertex, ids, config map). */
  readonly perJobVertexBytes: number;
  /** Per subtask (ExecutionVertex + current attempt + attempt history slots). */
  readonly perSubtaskBytes: number;
  /** Per job edge (one group per side for ALL_TO_ALL, index arithmetic for POINTWISE). */
  readonly perEdgeGroupBytes: number;
  /** Per retained or concurrently pending checkpoint: fixed part. */
  readonly perCheckpointBytes: number;
  /** Per retained or pending checkpoint and subtask: acknowledged state handle, ack bookkeeping. */
  readonly perCheckpointSubtaskBytes: number;
  /** Per registered TaskManager (registry entry, slot report, heartbeat target, RPC client pool). */
  readonly perTaskManagerBytes: number;
  /** Per slot of a registered TaskManager. */
  readonly perSlotBytes: number;
  /** Per archived (terminal) job held in the archived-jobs cache, fixed part. */
  readonly perArchivedJobBytes: number;
  /** Per vertex of an archived job. */
  readonly perArchivedJobVertexBytes: number;
  /** Per checkpoint statistics entry kept in the checkpoint history cache. */
  readonly perCheckpointHistoryEntryBytes: number;
  /** Heap of an idle JobManager after boot (code, Fastify, pino, prom-client, config). */
  readonly baselineHeapBytes: number;
}

/**
 * Measured on Node 20.20 (x64) with `--expose-gc` by
 * scripts/stress/calibrate.mjs on the real domain objects (raw figures and
 * method in docs/sizing.md), then rounded up with margin: for Node 24's
 * object layout, for attempt history after restarts, and for the adapters'
 * share (REST views, RPC client pools) that the domain-only measurement
 * does not see.
 *
 *   measured (retained after GC)             constant
 *   job, fixed            4.8-6.7 KiB         16 KiB
 *   job vertex + edge     2.2 KiB             3 KiB + 1 KiB
 *   subtask (RUNNING)     84 B                256 B
 *   pending ckpt/subtask  220 B               256 B (per retained or concurrent checkpoint)
 *   retained ckpt/subtask 91 B
 *   TaskManager           0.5 KiB (registry)  4 KiB (+ RPC client, heartbeat)
 *   slot                  7 B                 64 B
 *   archived job (8 v.)   7.5-8.2 KiB         2 KiB + 1.5 KiB per vertex (= the cache's own estimate)
 *   idle JobManager heap  10.6 MiB            24 MiB
 */
export const FOOTPRINT: FootprintConstants = {
  perJobBytes: 16 * 1024,
  perJobVertexBytes: 3 * 1024,
  perSubtaskBytes: 256,
  perEdgeGroupBytes: 1024,
  perCheckpointBytes: 2 * 1024,
  perCheckpointSubtaskBytes: 256,
  perTaskManagerBytes: 4 * 1024,
  perSlotBytes: 64,
  perArchivedJobBytes: 2 * 1024,
  perArchivedJobVertexBytes: 1536,
  perCheckpointHistoryEntryBytes: 2 * 1024,
  baselineHeapBytes: 24 * 1024 * 1024,
};

/** What a job's live footprint depends on. */
export interface JobShape {
  readonly jobVertices: number;
  readonly subtasks: number;
  readonly jobEdges: number;
  /** Completed checkpoints kept (state.checkpoints.num-retained); 0 when checkpointing is off. */
  readonly retainedCheckpoints: number;
  /** Checkpoints that may be pending at once (max-concurrent); 0 when checkpointing is off. */
  readonly concurrentCheckpoints: number;
}

/** The shape of a validated (normalised) JobGraph. */
export function jobShapeOf(graph: JobGraph): JobShape {
  let subtasks = 0;
  for (const v of graph.vertices) subtasks += v.parallelism;
  const cp = graph.checkpointing;
  return {
    jobVertices: graph.vertices.length,
    subtasks,
    jobEdges: graph.edges.length,
    retainedCheckpoints: cp ? cp.retained : 0,
    concurrentCheckpoints: cp ? cp.maxConcurrent : 0,
  };
}

/**
 * Estimated live heap of a running job: O(subtasks + edges + checkpoints x
 * subtasks), never O(subtasks^2) (all-to-all edges are groups).
 */
export function estimateJobFootprintBytes(shape: JobShape, c: FootprintConstants = FOOTPRINT): number {
  const checkpoints = shape.retainedCheckpoints + shape.concurrentCheckpoints;
  return Math.ceil(
    c.perJobBytes +
      shape.jobVertices * c.perJobVertexBytes +
      shape.subtasks * c.perSubtaskBytes +
      shape.jobEdges * c.perEdgeGroupBytes +
      checkpoints * (c.perCheckpointBytes + shape.subtasks * c.perCheckpointSubtaskBytes),
  );
}

export function estimateTaskManagerBytes(slots: number, c: FootprintConstants = FOOTPRINT): number {
  return c.perTaskManagerBytes + slots * c.perSlotBytes;
}

export function estimateArchivedJobBytes(jobVertices: number, c: FootprintConstants = FOOTPRINT): number {
  return c.perArchivedJobBytes + jobVertices * c.perArchivedJobVertexBytes;
}

/** A whole cluster's workload, as `jobmanager size` takes it. */
export interface Workload {
  readonly jobs: number;
  /** Subtasks per job. */
  readonly subtasksPerJob: number;
  /** Vertices per job (default: a 4-stage pipeline, clamped to subtasks). */
  readonly verticesPerJob?: number;
  readonly taskManagers: number;
  readonly slotsPerTaskManager?: number;
  readonly retainedCheckpoints: number;
  readonly archivedJobs: number;
  /** Checkpoint statistics kept per job (web.checkpoints.history, default 10). */
  readonly checkpointHistoryPerJob?: number;
}

export interface WorkloadEstimate {
  readonly liveBytes: number;
  readonly perJobBytes: number;
  readonly taskManagerBytes: number;
  readonly archivedJobsBytes: number;
  readonly checkpointHistoryBytes: number;
}

export function estimateWorkload(w: Workload, c: FootprintConstants = FOOTPRINT): WorkloadEstimate {
  const vertices = Math.max(1, Math.min(w.verticesPerJob ?? 4, Math.max(1, w.subtasksPerJob)));
  const perJob = estimateJobFootprintBytes(
    {
      jobVertices: vertices,
      subtasks: w.subtasksPerJob,
      jobEdges: Math.max(0, vertices - 1),
      retainedCheckpoints: w.retainedCheckpoints,
      concurrentCheckpoints: w.retainedCheckpoints > 0 ? 1 : 0,
    },
    c,
  );
  const taskManagerBytes = w.taskManagers * estimateTaskManagerBytes(w.slotsPerTaskManager ?? 1, c);
  return {
    perJobBytes: perJob,
    taskManagerBytes,
    liveBytes: w.jobs * perJob + taskManagerBytes,
    archivedJobsBytes: w.archivedJobs * estimateArchivedJobBytes(vertices, c),
    checkpointHistoryBytes: w.retainedCheckpoints > 0 ? w.jobs * (w.checkpointHistoryPerJob ?? 10) * c.perCheckpointHistoryEntryBytes : 0,
  };
}
