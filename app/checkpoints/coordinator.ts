// CheckpointCoordinator of one job (Flink's role of the same name). Pure and
// clock-driven: it triggers checkpoints through an outbound port (batched per
// TaskManager), receives batched acknowledgements/declines by calls, and
// persists completed checkpoints through the JobCheckpointStore. A checkpoint
// counts as completed only once its metadata is durable; TaskManagers are told
// "complete" only after that.
import { randomBytes } from 'node:crypto';
import type { Clock, TimerHandle } from '../cluster/clock.js';
import { StorageWriteError } from './atomic-file.js';
import type { JobCheckpointStore } from './checkpoint-store.js';
import type { CheckpointSettings } from './settings.js';
import { CheckpointStatsTracker, type CheckpointConfigInfo, type CheckpointingStatistics, type CheckpointStatistics } from './stats.js';
import {
  silentLogger,
  type CheckpointRecovery,
  type CompletedCheckpoint,
  type DomainLogger,
  type SubtaskRestore,
  type VertexCheckpointState,
} from './types.js';

/** One running subtask attempt the coordinator checkpoints. */
export interface CheckpointTask {
  readonly executionAttemptId: string;
  readonly taskManagerId: string;
  readonly vertexId: string;
  readonly subtaskIndex: number;
}

export interface TriggerCheckpointRequest {
  readonly jobId: string;
  readonly checkpointId: number;
  readonly timestamp: number;
  readonly executionAttemptIds: readonly string[];
}

export interface CheckpointNotification {
  readonly jobId: string;
  readonly checkpointId: number;
  readonly executionAttemptIds: readonly string[];
}

/** Outbound port to the TaskManagers (implemented by the RPC gateway). One call per TaskManager. */
export interface CheckpointTaskGateway {
  triggerCheckpoint(taskManagerId: string, request: TriggerCheckpointRequest): Promise<void>;
  notifyCheckpointComplete(taskManagerId: string, request: CheckpointNotification): Promise<void>;
  /** Optional: lets tasks drop the state of an aborted checkpoint early. */
  notifyCheckpointAborted?(taskManagerId: string, request: CheckpointNotification): Promise<void>;
}

/** One subtask's acknowledgement (several arrive in one RPC batch). */
export interface SubtaskAcknowledgement {
  readonly checkpointId: number;
  readonly executionAttemptId: string;
  /** Opaque handle of the subtask's state; absent = no state. */
  readonly stateHandle?: string;
  readonly stateSizeBytes?: number;
}

export interface SubtaskDecline {
  readonly checkpointId: number;
  readonly executionAttemptId: string;
  readonly reason: string;
}

export interface AcknowledgeResult {
  readonly accepted: number;
  /** For checkpoints no longer pending, unknown attempts or duplicates. */
  readonly ignored: number;
}

export type ManualCheckpointStatus =
  | { readonly status: 'IN_PROGRESS'; readonly checkpointId?: number }
  | { readonly status: 'COMPLETED'; readonly checkpointId: number }
  | { readonly status: 'FAILED'; readonly checkpointId?: number; readonly failureCause: string };

export class CheckpointTriggerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckpointTriggerError';
  }
}

/** Why a checkpoint was aborted; decides whether it counts toward tolerable failures. */
export type AbortKind = 'declined' | 'expired' | 'trigger-failed' | 'storage' | 'subsumed' | 'suspended';
const COUNTED_FAILURES: ReadonlySet<AbortKind> = new Set(['declined', 'expired', 'trigger-failed']);

export interface CheckpointCoordinatorOptions {
  readonly jobId: string;
  readonly settings: CheckpointSettings;
  readonly clock: Clock;
  readonly gateway: CheckpointTaskGateway;
  readonly store: JobCheckpointStore;
  /** Called when consecutive counted failures exceed tolerableFailures; the JobMaster restarts the job. */
  readonly onFailover: (reason: string) => void;
  /** Called after a checkpoint is durable (before TaskManagers are notified). */
  readonly onCompleted?: (checkpoint: CompletedCheckpoint) => void;
  readonly log?: DomainLogger;
  /** Manual requests waiting for a free concurrency slot (default 32). */
  readonly maxQueuedManualRequests?: number;
}

/** The attempt set of one deployment, indexed once so acks cost O(1). */
class TaskSet {
  readonly attemptIds: string[];
  readonly index = new Map<string, number>();
  readonly vertexOf: Int32Array;
  readonly subtaskOf: Int32Array;
  readonly vertices: { vertexId: string; parallelism: number }[] = [];
  readonly byTaskManager = new Map<string, string[]>();

  constructor(tasks: readonly CheckpointTask[]) {
    this.attemptIds = new Array<string>(tasks.length);
    this.vertexOf = new Int32Array(tasks.length);
    this.subtaskOf = new Int32Array(tasks.length);
    const vIndex = new Map<string, number>();
    tasks.forEach((t, i) => {
      if (this.index.has(t.executionAttemptId)) throw new Error(`duplicate execution attempt ${t.executionAttemptId}`);
      this.attemptIds[i] = t.executionAttemptId;
      this.index.set(t.executionAttemptId, i);
      let v = vIndex.get(t.vertexId);
      if (v === undefined) {
        v = this.vertices.length;
        vIndex.set(t.vertexId, v);
        this.vertices.push({ vertexId: t.vertexId, parallelism: 0 });
      }
      const vertex = this.vertices[v]!;
      vertex.parallelism = Math.max(vertex.parallelism, t.subtaskIndex + 1);
      this.vertexOf[i] = v;
      this.subtaskOf[i] = t.subtaskIndex;
      let batch = this.byTaskManager.get(t.taskManagerId);
      if (!batch) this.byTaskManager.set(t.taskManagerId, (batch = []));
      batch.push(t.executionAttemptId);
    });
  }

  get size(): number {
    return this.attemptIds.length;
  }
}

interface PendingCheckpoint {
  readonly id: number;
  readonly triggerTs: number;
  readonly tasks: TaskSet;
  readonly handles: (string | null)[];
  readonly sizes: Float64Array;
  readonly acked: Uint8Array;
  remaining: number;
  lastAckTs: number;
  finalizing: boolean;
  timeout: TimerHandle | undefined;
  manualRequestId: string | undefined;
}

interface Running {
  readonly tasks: TaskSet;
  /** Changes on every start/stop so late async results of an old run are recognised. */
  readonly generation: number;
}

const MANUAL_STATUS_KEPT = 100;

export class CheckpointCoordinator {
  readonly jobId: string;
  private settings: CheckpointSettings;
  private readonly clock: Clock;
  private readonly gateway: CheckpointTaskGateway;
  private readonly store: JobCheckpointStore;
  private readonly onFailover: (reason: string) => void;
  private readonly onCompleted: ((checkpoint: CompletedCheckpoint) => void) | undefined;
  private readonly log: DomainLogger;
  private readonly maxQueuedManual: number;
  readonly stats: CheckpointStatsTracker;

  private running: Running | undefined;
  private generation = 0;
  private readonly pending = new Map<number, PendingCheckpoint>();
  /** Triggers waiting for their id to become durable (they hold a concurrency slot). */
  private triggering = 0;
  private periodicTimer: TimerHandle | undefined;
  private lastTriggerTs: number | undefined;
  private lastFinishedTs = Number.NEGATIVE_INFINITY;
  private consecutiveFailures = 0;
  private readonly manualQueue: string[] = [];
  private readonly manualStatus = new Map<string, ManualCheckpointStatus>();
  private restoreIndex: { checkpointId: number; byVertex: Map<string, VertexCheckpointState> } | undefined;

  constructor(options: CheckpointCoordinatorOptions) {
    this.jobId = options.jobId;
    this.settings = options.settings;
    this.clock = options.clock;
    this.gateway = options.gateway;
    this.store = options.store;
    this.onFailover = options.onFailover;
    this.onCompleted = options.onCompleted;
    this.log = options.log ?? silentLogger;
    this.maxQueuedManual = options.maxQueuedManualRequests ?? 32;
    this.stats = new CheckpointStatsTracker(options.settings.historySize);
  }

  /**
   * Reads the job's checkpoint directory (once, at JobMaster creation or
   * recovery). Corrupt files are reported in the stats as failed checkpoints.
   */
  async initialize(): Promise<CheckpointRecovery> {
    const recovery = await this.store.recover();
    for (const c of recovery.corrupt) {
      if (c.checkpointId !== undefined) {
        this.stats.reportCorruptOnDisk(c.checkpointId, this.clock.now(), `metadata file ${c.path} is corrupt and was not loaded: ${c.reason}`);
      }
    }
    return recovery;
  }

  // ------------------------------------------------------------------ lifecycle

  /** Starts checkpointing the given attempts (all of them RUNNING). Replaces a previous run. */
  start(tasks: readonly CheckpointTask[]): void {
    if (this.running) this.stop('restarted with a new set of tasks');
    this.generation++;
    this.running = { tasks: new TaskSet(tasks), generation: this.generation };
    this.lastTriggerTs = this.clock.now();
    this.consecutiveFailures = 0;
    this.scheduleNextPeriodic();
    this.drainManualQueue();
  }

  /** Stops triggering and aborts everything pending (job restarting, cancelled, or finished). */
  stop(reason: string): void {
    if (!this.running) return;
    this.running = undefined;
    this.generation++;
    this.cancelPeriodic();
    for (const p of [...this.pending.values()]) {
      if (!p.finalizing) this.abort(p, `checkpoint coordinator suspended: ${reason}`, 'suspended');
    }
    for (const requestId of this.manualQueue.splice(0)) {
      this.setManualStatus(requestId, { status: 'FAILED', failureCause: `checkpoint coordinator suspended: ${reason}` });
    }
  }

  isRunning(): boolean {
    return this.running !== undefined;
  }

  /** Number of checkpoints triggered and not yet completed/aborted (incl. those reserving an id). */
  pendingCount(): number {
    return this.pending.size + this.triggering;
  }

  currentSettings(): CheckpointSettings {
    return this.settings;
  }

  // ------------------------------------------------------------------ triggering

  private cancelPeriodic(): void {
    if (this.periodicTimer) this.clock.clearTimeout(this.periodicTimer);
    this.periodicTimer = undefined;
  }

  private nextPeriodicDue(): number {
    const s = this.settings;
    let due = (this.lastTriggerTs ?? this.clock.now()) + s.intervalMs;
    if (s.minPauseMs > 0) due = Math.max(due, this.lastFinishedTs + s.minPauseMs);
    return due;
  }

  private scheduleNextPeriodic(): void {
    if (!this.running || this.settings.intervalMs <= 0 || this.periodicTimer) return;
    const delay = Math.max(0, this.nextPeriodicDue() - this.clock.now());
    this.periodicTimer = this.clock.setTimeout(() => this.onPeriodicTimer(), delay);
  }

  private onPeriodicTimer(): void {
    this.periodicTimer = undefined;
    if (!this.running) return;
    const now = this.clock.now();
    if (now < this.nextPeriodicDue()) {
      this.scheduleNextPeriodic();
      return;
    }
    // Busy: wait; the next finishing checkpoint re-arms the timer.
    if (this.pendingCount() >= this.settings.maxConcurrent) return;
    if (this.settings.minPauseMs > 0 && this.pendingCount() > 0) return;
    this.startCheckpoint(undefined);
    this.scheduleNextPeriodic();
  }

  /**
   * Manual trigger (POST /jobs/:jobid/checkpoints). Returns a request id whose
   * outcome manualCheckpointStatus() reports. Ignores minPause, respects
   * maxConcurrent by queueing.
   */
  triggerManual(): string {
    if (!this.running) throw new CheckpointTriggerError(`job ${this.jobId} is not running; checkpoints can only be triggered while all its tasks run`);
    if (this.manualQueue.length >= this.maxQueuedManual) {
      throw new CheckpointTriggerError(`too many checkpoint requests queued for job ${this.jobId} (${this.maxQueuedManual}); retry later`);
    }
    const requestId = randomBytes(16).toString('hex');
    this.setManualStatus(requestId, { status: 'IN_PROGRESS' });
    this.manualQueue.push(requestId);
    this.drainManualQueue();
    return requestId;
  }

  manualCheckpointStatus(requestId: string): ManualCheckpointStatus | undefined {
    return this.manualStatus.get(requestId);
  }

  private setManualStatus(requestId: string, status: ManualCheckpointStatus): void {
    this.manualStatus.delete(requestId);
    this.manualStatus.set(requestId, status);
    while (this.manualStatus.size > MANUAL_STATUS_KEPT) {
      const oldest = this.manualStatus.keys().next().value as string;
      this.manualStatus.delete(oldest);
    }
  }

  private drainManualQueue(): void {
    while (this.running && this.manualQueue.length > 0 && this.pendingCount() < this.settings.maxConcurrent) {
      this.startCheckpoint(this.manualQueue.shift()!);
    }
  }

  private startCheckpoint(manualRequestId: string | undefined): void {
    const run = this.running;
    if (!run) return;
    const triggerTs = this.clock.now();
    this.lastTriggerTs = triggerTs;
    this.triggering++;
    this.store.reserveCheckpointId().then(
      (id) => {
        this.triggering--;
        if (this.running?.generation !== run.generation) {
          // Stopped meanwhile: the id is burnt (never reused), nothing was sent.
          if (manualRequestId) this.setManualStatus(manualRequestId, { status: 'FAILED', checkpointId: id, failureCause: 'job stopped before the checkpoint was triggered' });
          return;
        }
        this.sendTrigger(id, triggerTs, run.tasks, manualRequestId);
      },
      (err: unknown) => {
        this.triggering--;
        const msg = err instanceof Error ? err.message : String(err);
        this.log.error({ jobId: this.jobId, err: msg }, 'could not persist the checkpoint id counter; checkpoint not triggered');
        this.stats.reportFailedWithoutId();
        if (manualRequestId) this.setManualStatus(manualRequestId, { status: 'FAILED', failureCause: msg });
        this.lastFinishedTs = this.clock.now();
        this.afterFinished();
      },
    );
  }

  private sendTrigger(id: number, triggerTs: number, tasks: TaskSet, manualRequestId: string | undefined): void {
    const p: PendingCheckpoint = {
      id,
      triggerTs,
      tasks,
      handles: new Array<string | null>(tasks.size).fill(null),
      sizes: new Float64Array(tasks.size),
      acked: new Uint8Array(tasks.size),
      remaining: tasks.size,
      lastAckTs: -1,
      finalizing: false,
      timeout: undefined,
      manualRequestId,
    };
    this.pending.set(id, p);
    if (manualRequestId) this.setManualStatus(manualRequestId, { status: 'IN_PROGRESS', checkpointId: id });
    this.stats.reportPending(id, triggerTs, tasks.vertices);
    p.timeout = this.clock.setTimeout(() => {
      p.timeout = undefined;
      if (this.pending.get(id) === p && !p.finalizing) {
        this.abort(p, `checkpoint ${id} expired before completing (timeout ${this.settings.timeoutMs} ms)`, 'expired');
      }
    }, this.settings.timeoutMs);
    if (tasks.size === 0) {
      this.finalize(p);
      return;
    }
    for (const [taskManagerId, executionAttemptIds] of tasks.byTaskManager) {
      this.gateway.triggerCheckpoint(taskManagerId, { jobId: this.jobId, checkpointId: id, timestamp: triggerTs, executionAttemptIds }).catch((err: unknown) => {
        if (this.pending.get(id) === p && !p.finalizing) {
          const msg = err instanceof Error ? err.message : String(err);
          this.abort(p, `triggering checkpoint ${id} on TaskManager ${taskManagerId} failed: ${msg}`, 'trigger-failed');
        }
      });
    }
  }

  // ------------------------------------------------------------------ acks

  /** A batch of acknowledgements (from one RPC call). */
  acknowledge(acks: readonly SubtaskAcknowledgement[]): AcknowledgeResult {
    let accepted = 0;
    let ignored = 0;
    const now = this.clock.now();
    const toFinalize: PendingCheckpoint[] = [];
    for (const ack of acks) {
      const p = this.pending.get(ack.checkpointId);
      const i = p?.tasks.index.get(ack.executionAttemptId);
      if (!p || p.finalizing || i === undefined || p.acked[i] === 1) {
        ignored++;
        continue;
      }
      const size = typeof ack.stateSizeBytes === 'number' && ack.stateSizeBytes > 0 ? ack.stateSizeBytes : 0;
      p.acked[i] = 1;
      p.handles[i] = ack.stateHandle ?? null;
      p.sizes[i] = size;
      p.remaining--;
      p.lastAckTs = now;
      this.stats.reportAck(p.id, p.tasks.vertexOf[i]!, size, now);
      accepted++;
      if (p.remaining === 0) toFinalize.push(p);
    }
    for (const p of toFinalize) this.finalize(p);
    return { accepted, ignored };
  }

  /** A subtask could not take the checkpoint: the checkpoint is aborted. */
  decline(declines: readonly SubtaskDecline[]): AcknowledgeResult {
    let accepted = 0;
    let ignored = 0;
    for (const d of declines) {
      const p = this.pending.get(d.checkpointId);
      if (!p || p.finalizing || !p.tasks.index.has(d.executionAttemptId)) {
        ignored++;
        continue;
      }
      accepted++;
      this.abort(p, `checkpoint ${p.id} declined by task ${d.executionAttemptId}: ${d.reason}`, 'declined');
    }
    return { accepted, ignored };
  }

  // ------------------------------------------------------------------ completion

  private buildCompleted(p: PendingCheckpoint): CompletedCheckpoint {
    const vertices = p.tasks.vertices.map((v) => ({
      vertexId: v.vertexId,
      stateHandles: new Array<string | null>(v.parallelism).fill(null),
      stateSizes: new Array<number>(v.parallelism).fill(0),
    }));
    let total = 0;
    for (let i = 0; i < p.tasks.size; i++) {
      const v = vertices[p.tasks.vertexOf[i]!]!;
      const s = p.tasks.subtaskOf[i]!;
      v.stateHandles[s] = p.handles[i] ?? null;
      v.stateSizes[s] = p.sizes[i]!;
      total += p.sizes[i]!;
    }
    return { jobId: this.jobId, checkpointId: p.id, triggerTimestamp: p.triggerTs, ackCompletedTimestamp: this.clock.now(), stateSizeBytes: total, vertices };
  }

  private finalize(p: PendingCheckpoint): void {
    p.finalizing = true;
    if (p.timeout) this.clock.clearTimeout(p.timeout);
    p.timeout = undefined;
    const checkpoint = this.buildCompleted(p);
    this.store.addCompleted(checkpoint).then(
      (discarded) => this.onDurable(p, checkpoint, discarded),
      (err: unknown) => {
        const msg = err instanceof StorageWriteError ? err.message : `could not persist checkpoint metadata: ${err instanceof Error ? err.message : String(err)}`;
        this.log.error({ jobId: this.jobId, checkpointId: p.id, err: msg }, 'checkpoint failed: metadata not durable');
        this.abort(p, `checkpoint ${p.id} failed: ${msg}`, 'storage');
      },
    );
  }

  private onDurable(p: PendingCheckpoint, checkpoint: CompletedCheckpoint, discarded: readonly number[]): void {
    this.pending.delete(p.id);
    const now = this.clock.now();
    this.stats.reportCompleted(p.id, this.store.pathOf(p.id), now);
    for (const d of discarded) this.stats.reportDiscarded(d);
    this.consecutiveFailures = 0;
    this.lastFinishedTs = now;
    if (p.manualRequestId) this.setManualStatus(p.manualRequestId, { status: 'COMPLETED', checkpointId: p.id });
    this.log.info({ jobId: this.jobId, checkpointId: p.id, stateSizeBytes: checkpoint.stateSizeBytes, durationMs: now - p.triggerTs }, 'checkpoint completed');
    // Older pending checkpoints are subsumed by this one (Flink does the same).
    for (const older of [...this.pending.values()]) {
      if (older.id < p.id && !older.finalizing) this.abort(older, `checkpoint ${older.id} subsumed by completed checkpoint ${p.id}`, 'subsumed');
    }
    this.onCompleted?.(checkpoint);
    for (const [taskManagerId, executionAttemptIds] of p.tasks.byTaskManager) {
      this.gateway.notifyCheckpointComplete(taskManagerId, { jobId: this.jobId, checkpointId: p.id, executionAttemptIds }).catch((err: unknown) => {
        // Not fatal: the checkpoint is durable; the TaskManager learns of it with the next one.
        this.log.warn({ jobId: this.jobId, checkpointId: p.id, taskManagerId, err: err instanceof Error ? err.message : String(err) }, 'checkpoint-complete notification failed');
      });
    }
    this.afterFinished();
  }

  private abort(p: PendingCheckpoint, reason: string, kind: AbortKind): void {
    if (this.pending.get(p.id) !== p) return;
    this.pending.delete(p.id);
    if (p.timeout) this.clock.clearTimeout(p.timeout);
    p.timeout = undefined;
    const now = this.clock.now();
    this.stats.reportFailed(p.id, now, reason);
    this.lastFinishedTs = now;
    if (p.manualRequestId) this.setManualStatus(p.manualRequestId, { status: 'FAILED', checkpointId: p.id, failureCause: reason });
    if (kind !== 'subsumed' && kind !== 'suspended') this.log.warn({ jobId: this.jobId, checkpointId: p.id, kind }, reason);
    if (this.gateway.notifyCheckpointAborted && kind !== 'suspended') {
      for (const [taskManagerId, executionAttemptIds] of p.tasks.byTaskManager) {
        this.gateway.notifyCheckpointAborted(taskManagerId, { jobId: this.jobId, checkpointId: p.id, executionAttemptIds }).catch(() => undefined);
      }
    }
    if (COUNTED_FAILURES.has(kind) && this.running) {
      this.consecutiveFailures++;
      if (this.consecutiveFailures > this.settings.tolerableFailures) {
        const why = `exceeded the tolerable number of failed checkpoints (${this.settings.tolerableFailures}); last: ${reason}`;
        this.consecutiveFailures = 0;
        this.onFailover(why);
      }
    }
    this.afterFinished();
  }

  private afterFinished(): void {
    if (!this.running) return;
    this.drainManualQueue();
    this.scheduleNextPeriodic();
  }

  // ------------------------------------------------------------------ restore & views

  /** Newest durable completed checkpoint. */
  latestCompleted(): CompletedCheckpoint | undefined {
    return this.store.latest();
  }

  /** What subtask `subtaskIndex` of `vertexId` restores from (the latest completed checkpoint). */
  restoreFor(vertexId: string, subtaskIndex: number): SubtaskRestore | undefined {
    const latest = this.store.latest();
    if (!latest) return undefined;
    if (this.restoreIndex?.checkpointId !== latest.checkpointId) {
      this.restoreIndex = { checkpointId: latest.checkpointId, byVertex: new Map(latest.vertices.map((v) => [v.vertexId, v])) };
    }
    const handle = this.restoreIndex.byVertex.get(vertexId)?.stateHandles[subtaskIndex];
    return handle == null ? { checkpointId: latest.checkpointId } : { checkpointId: latest.checkpointId, stateHandle: handle };
  }

  /** The JobMaster redeployed tasks from `checkpointId`. */
  recordRestored(checkpointId: number): void {
    this.stats.reportRestored(checkpointId, this.clock.now(), this.store.pathOf(checkpointId));
  }

  /** GET /jobs/:jobid/checkpoints */
  statistics(): CheckpointingStatistics {
    return this.stats.snapshot();
  }

  /** GET /jobs/:jobid/checkpoints/details/:checkpointid */
  details(checkpointId: number): CheckpointStatistics | undefined {
    return this.stats.details(checkpointId);
  }

  /** GET /jobs/:jobid/checkpoints/config; undefined when periodic checkpointing is off (Flink answers 404). */
  configInfo(): CheckpointConfigInfo | undefined {
    const s = this.settings;
    if (s.intervalMs <= 0) return undefined;
    return {
      mode: 'exactly_once',
      interval: s.intervalMs,
      timeout: s.timeoutMs,
      min_pause: s.minPauseMs,
      max_concurrent: s.maxConcurrent,
      externalization: { enabled: true, delete_on_cancellation: true },
      state_backend: 'synthetic',
      checkpoint_storage: 'FileSystemCheckpointStorage',
      unaligned_checkpoints: false,
      tolerable_failed_checkpoints: s.tolerableFailures,
      aligned_checkpoint_timeout: 0,
      checkpoints_after_tasks_finish: true,
      state_changelog_enabled: false,
      changelog_periodic_materialization_interval: 0,
      changelog_storage: 'memory',
    };
  }
}
