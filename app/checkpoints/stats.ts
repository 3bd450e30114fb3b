// Checkpoint statistics in the shapes of Flink's REST API v1
// (CheckpointingStatistics, CheckpointStatistics, CheckpointConfigInfo).
// Memory is bounded: `history` entries (per-vertex aggregates only, never per
// subtask) plus a fixed window of values for the percentiles.

/** Flink's StatsSummaryDto. */
export interface StatsSummaryDto {
  min: number;
  max: number;
  avg: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  p999: number;
}

export type CheckpointStatsStatus = 'IN_PROGRESS' | 'COMPLETED' | 'FAILED';

/** Flink's TaskCheckpointStatistics (one entry per JobGraph vertex); also the figures every CheckpointStatistics carries. */
export interface TaskCheckpointStatistics {
  id: number;
  status: CheckpointStatsStatus;
  latest_ack_timestamp: number;
  checkpointed_size: number;
  state_size: number;
  end_to_end_duration: number;
  alignment_buffered: number;
  processed_data: number;
  persisted_data: number;
  num_subtasks: number;
  num_acknowledged_subtasks: number;
}

/** Flink's CheckpointStatistics with its completed/failed/pending variants flattened. */
export interface CheckpointStatistics extends TaskCheckpointStatistics {
  className: '.CompletedCheckpointStatistics' | '.FailedCheckpointStatistics' | '.PendingCheckpointStatistics';
  is_savepoint: boolean;
  savepointFormat: string | null;
  trigger_timestamp: number;
  checkpoint_type: 'CHECKPOINT';
  tasks: Record<string, TaskCheckpointStatistics>;
  /** completed only */
  external_path?: string;
  discarded?: boolean;
  /** failed only */
  failure_timestamp?: number;
  failure_message?: string;
}

export interface RestoredCheckpointStatistics {
  id: number;
  restore_timestamp: number;
  is_savepoint: boolean;
  external_path: string;
}

export interface CheckpointingStatistics {
  counts: { restored: number; total: number; in_progress: number; completed: number; failed: number };
  summary: {
    checkpointed_size: StatsSummaryDto;
    state_size: StatsSummaryDto;
    end_to_end_duration: StatsSummaryDto;
    alignment_buffered: StatsSummaryDto;
    processed_data: StatsSummaryDto;
    persisted_data: StatsSummaryDto;
  };
  latest: {
    completed: CheckpointStatistics | null;
    savepoint: CheckpointStatistics | null;
    failed: CheckpointStatistics | null;
    restored: RestoredCheckpointStatistics | null;
  };
  history: CheckpointStatistics[];
}

/** Flink's CheckpointConfigInfo. */
export interface CheckpointConfigInfo {
  mode: 'exactly_once' | 'at_least_once';
  interval: number;
  timeout: number;
  min_pause: number;
  max_concurrent: number;
  externalization: { enabled: boolean; delete_on_cancellation: boolean };
  state_backend: string;
  checkpoint_storage: string;
  unaligned_checkpoints: boolean;
  tolerable_failed_checkpoints: number;
  aligned_checkpoint_timeout: number;
  checkpoints_after_tasks_finish: boolean;
  state_changelog_enabled: boolean;
  changelog_periodic_materialization_interval: number;
  changelog_storage: string;
}

/** Running min/max/avg over everything, percentiles over the last `window` values. */
export class StatsSummary {
  private count = 0;
  private sum = 0;
  private minV = Number.POSITIVE_INFINITY;
  private maxV = Number.NEGATIVE_INFINITY;
  private readonly ring: Float64Array;
  private filled = 0;
  private pos = 0;

  constructor(window = 1024) {
    this.ring = new Float64Array(Math.max(1, window));
  }

  add(value: number): void {
    this.count++;
    this.sum += value;
    if (value < this.minV) this.minV = value;
    if (value > this.maxV) this.maxV = value;
    this.ring[this.pos] = value;
    this.pos = (this.pos + 1) % this.ring.length;
    if (this.filled < this.ring.length) this.filled++;
  }

  toDto(): StatsSummaryDto {
    if (this.count === 0) return { min: 0, max: 0, avg: 0, p50: 0, p90: 0, p95: 0, p99: 0, p999: 0 };
    const sorted = Float64Array.from(this.ring.subarray(0, this.filled)).sort();
    // Linear interpolation between closest ranks (what Flink's DescriptiveStatistics-based histogram reports).
    const q = (p: number): number => {
      const rank = p * (sorted.length - 1);
      const lo = Math.floor(rank);
      const hi = Math.ceil(rank);
      return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (rank - lo);
    };
    return {
      min: this.minV,
      max: this.maxV,
      avg: Math.round(this.sum / this.count),
      p50: q(0.5),
      p90: q(0.9),
      p95: q(0.95),
      p99: q(0.99),
      p999: q(0.999),
    };
  }
}

interface VertexStats {
  readonly vertexId: string;
  readonly numSubtasks: number;
  acknowledged: number;
  stateSize: number;
  latestAck: number;
}

/** Mutable bookkeeping of one checkpoint while it is in the history. */
interface Entry {
  readonly id: number;
  status: CheckpointStatsStatus;
  readonly triggerTs: number;
  latestAckTs: number;
  stateSize: number;
  numSubtasks: number;
  acknowledged: number;
  vertices: VertexStats[];
  externalPath?: string;
  discarded: boolean;
  failureTs?: number;
  failureMessage?: string;
}

export interface VertexShape {
  readonly vertexId: string;
  readonly parallelism: number;
}

export class CheckpointStatsTracker {
  private readonly historySize: number;
  /** Newest last. Entries leave when the history is full (in-progress ones stay). */
  private history: Entry[] = [];
  private readonly byId = new Map<number, Entry>();
  private counts = { restored: 0, total: 0, in_progress: 0, completed: 0, failed: 0 };
  private latestCompleted: Entry | undefined;
  private latestFailed: Entry | undefined;
  private restored: RestoredCheckpointStatistics | undefined;
  private readonly stateSize: StatsSummary;
  private readonly duration: StatsSummary;

  constructor(historySize: number, percentileWindow = 1024) {
    this.historySize = Math.max(1, Math.floor(historySize));
    this.stateSize = new StatsSummary(percentileWindow);
    this.duration = new StatsSummary(percentileWindow);
  }

  private push(entry: Entry): void {
    this.history.push(entry);
    this.byId.set(entry.id, entry);
    while (this.history.length > this.historySize) {
      const idx = this.history.findIndex((e) => e.status !== 'IN_PROGRESS');
      if (idx < 0) break;
      const [old] = this.history.splice(idx, 1);
      if (old) this.byId.delete(old.id);
    }
  }

  reportPending(id: number, triggerTs: number, vertices: readonly VertexShape[]): void {
    let total = 0;
    const vs: VertexStats[] = vertices.map((v) => {
      total += v.parallelism;
      return { vertexId: v.vertexId, numSubtasks: v.parallelism, acknowledged: 0, stateSize: 0, latestAck: -1 };
    });
    this.counts.total++;
    this.counts.in_progress++;
    this.push({ id, status: 'IN_PROGRESS', triggerTs, latestAckTs: -1, stateSize: 0, numSubtasks: total, acknowledged: 0, vertices: vs, discarded: false });
  }

  /** One subtask's acknowledgement (vertexIndex into the vertices given to reportPending). */
  reportAck(id: number, vertexIndex: number, stateSize: number, ackTs: number): void {
    const e = this.byId.get(id);
    if (!e || e.status !== 'IN_PROGRESS') return;
    const v = e.vertices[vertexIndex];
    if (v) {
      v.acknowledged++;
      v.stateSize += stateSize;
      if (ackTs > v.latestAck) v.latestAck = ackTs;
    }
    e.acknowledged++;
    e.stateSize += stateSize;
    if (ackTs > e.latestAckTs) e.latestAckTs = ackTs;
  }

  reportCompleted(id: number, externalPath: string, completionTs: number): void {
    const e = this.byId.get(id);
    if (!e || e.status !== 'IN_PROGRESS') return;
    e.status = 'COMPLETED';
    e.externalPath = externalPath;
    if (e.latestAckTs < 0) e.latestAckTs = completionTs;
    this.counts.in_progress--;
    this.counts.completed++;
    this.stateSize.add(e.stateSize);
    this.duration.add(Math.max(0, e.latestAckTs - e.triggerTs));
    this.latestCompleted = e;
  }

  reportFailed(id: number, failureTs: number, message: string): void {
    const e = this.byId.get(id);
    if (!e || e.status !== 'IN_PROGRESS') return;
    e.status = 'FAILED';
    e.failureTs = failureTs;
    e.failureMessage = message;
    this.counts.in_progress--;
    this.counts.failed++;
    this.latestFailed = e;
  }

  /** A checkpoint found corrupt on disk: shown as failed so operators see it in the UI/REST. */
  reportCorruptOnDisk(id: number, detectedTs: number, message: string): void {
    if (this.byId.has(id)) return;
    this.counts.total++;
    this.counts.failed++;
    const e: Entry = {
      id,
      status: 'FAILED',
      triggerTs: detectedTs,
      latestAckTs: -1,
      stateSize: 0,
      numSubtasks: 0,
      acknowledged: 0,
      vertices: [],
      discarded: true,
      failureTs: detectedTs,
      failureMessage: message,
    };
    this.push(e);
    this.latestFailed = e;
  }

  /**
   * A checkpoint that failed before it got an id (its id could not be made
   * durable): counted as Flink counts failed triggers, without a history entry.
   */
  reportFailedWithoutId(): void {
    this.counts.total++;
    this.counts.failed++;
  }

  reportDiscarded(id: number): void {
    const e = this.byId.get(id);
    if (e) e.discarded = true;
  }

  reportRestored(id: number, restoreTs: number, externalPath: string): void {
    this.counts.restored++;
    this.restored = { id, restore_timestamp: restoreTs, is_savepoint: false, external_path: externalPath };
  }

  private toDto(e: Entry, withTasks: boolean): CheckpointStatistics {
    const tasks: Record<string, TaskCheckpointStatistics> = {};
    if (withTasks) {
      for (const v of e.vertices) tasks[v.vertexId] = figures(e, v.latestAck, v.stateSize, v.numSubtasks, v.acknowledged);
    }
    const base: CheckpointStatistics = {
      className:
        e.status === 'COMPLETED' ? '.CompletedCheckpointStatistics' : e.status === 'FAILED' ? '.FailedCheckpointStatistics' : '.PendingCheckpointStatistics',
      ...figures(e, e.latestAckTs, e.stateSize, e.numSubtasks, e.acknowledged),
      is_savepoint: false,
      savepointFormat: null,
      trigger_timestamp: e.triggerTs,
      checkpoint_type: 'CHECKPOINT',
      tasks,
    };
    if (e.status === 'COMPLETED') {
      base.external_path = e.externalPath ?? '';
      base.discarded = e.discarded;
    } else if (e.status === 'FAILED') {
      base.failure_timestamp = e.failureTs ?? 0;
      base.failure_message = e.failureMessage ?? '';
    }
    return base;
  }

  /** GET /jobs/:jobid/checkpoints */
  snapshot(): CheckpointingStatistics {
    const sizes = this.stateSize.toDto();
    const zero = new StatsSummary(1).toDto();
    return {
      counts: { ...this.counts },
      summary: {
        checkpointed_size: sizes,
        state_size: { ...sizes },
        end_to_end_duration: this.duration.toDto(),
        alignment_buffered: zero,
        processed_data: { ...zero },
        persisted_data: { ...zero },
      },
      latest: {
        completed: this.latestCompleted ? this.toDto(this.latestCompleted, false) : null,
        savepoint: null,
        failed: this.latestFailed ? this.toDto(this.latestFailed, false) : null,
        restored: this.restored ? { ...this.restored } : null,
      },
      history: [...this.history].reverse().map((e) => this.toDto(e, false)),
    };
  }

  /** GET /jobs/:jobid/checkpoints/details/:checkpointid; undefined when not (or no longer) in the history. */
  details(id: number): CheckpointStatistics | undefined {
    const e = this.byId.get(id) ?? (this.latestCompleted?.id === id ? this.latestCompleted : this.latestFailed?.id === id ? this.latestFailed : undefined);
    return e ? this.toDto(e, true) : undefined;
  }
}

/** The figures of a checkpoint or of one of its vertices (latestAckTs -1 = nothing acknowledged yet). */
function figures(e: Entry, latestAckTs: number, stateSize: number, numSubtasks: number, acknowledged: number): TaskCheckpointStatistics {
  return {
    id: e.id,
    status: e.status,
    latest_ack_timestamp: latestAckTs,
    checkpointed_size: stateSize,
    state_size: stateSize,
    end_to_end_duration: latestAckTs < 0 ? 0 : Math.max(0, latestAckTs - e.triggerTs),
    alignment_buffered: 0,
    processed_data: 0,
    persisted_data: 0,
    num_subtasks: numSubtasks,
    num_acknowledged_subtasks: acknowledged,
  };
}
