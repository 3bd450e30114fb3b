// The simulated TaskManager's checkpoint side: acknowledges a triggered
// checkpoint for each of its running attempts at once (one batched ack RPC)
// with a synthetic state handle, declines attempts that are not running,
// remembers the last confirmed checkpoint, and reports - as a log line and in
// restoredFrom() - which checkpoint a deployed attempt was restored from, so
// tests can check exactly what the JobManager handed out.
import type { FastifyBaseLogger } from 'fastify';
import type { ConfirmCheckpointBody, TriggerCheckpointBody } from '../http/rpc/checkpoints.js';
import type { CheckpointAck, CheckpointDecline } from '../http/rpc/protocol.js';
import type { RestoreCheckpoint } from '../jobs/types.js';

/** The JobManager's acks/declines as sent over RPC; one batch of each per trigger. */
export type SimAck = CheckpointAck;
export type SimDecline = CheckpointDecline;

/** What the responder needs to know about one attempt of this TaskManager. */
export interface SimTaskView {
  readonly jobId: string;
  readonly jobVertexId: string;
  readonly subtaskIndex: number;
  readonly state: string;
  /** Per-vertex config of the JobGraph (sim.checkpoint.* keys). */
  readonly config: Readonly<Record<string, string>>;
}

export type RestoreInfo = RestoreCheckpoint;

export interface SimCheckpointSender {
  acknowledgeCheckpoints(taskManagerId: string, acks: SimAck[]): Promise<unknown>;
  declineCheckpoints(taskManagerId: string, declines: SimDecline[]): Promise<unknown>;
}

export interface SimulatedCheckpointingOptions {
  readonly taskManagerId: string;
  readonly sender: SimCheckpointSender;
  readonly log: FastifyBaseLogger;
  readonly lookup: (executionAttemptId: string) => SimTaskView | undefined;
}

/** Synthetic state size: grows with the checkpoint id so summaries have a spread. */
function syntheticStateSize(task: SimTaskView, checkpointId: number): number {
  const configured = Number(task.config['sim.checkpoint.state-size-bytes']);
  if (Number.isFinite(configured) && configured >= 0) return Math.floor(configured);
  return 1024 + (task.subtaskIndex % 16) * 64 + (checkpointId % 8) * 8;
}

export class SimulatedCheckpointing {
  private readonly options: SimulatedCheckpointingOptions;
  private readonly log: FastifyBaseLogger;
  /** executionAttemptId -> checkpoint it was deployed with */
  private readonly restored = new Map<string, RestoreInfo>();
  /** jobId -> last checkpoint confirmed complete */
  private readonly confirmed = new Map<string, number>();

  constructor(options: SimulatedCheckpointingOptions) {
    this.options = options;
    this.log = options.log;
  }

  /** A descriptor arrived; logs what the attempt restores from (tests read this line). */
  deployed(d: { jobId: string; jobVertexId: string; subtaskIndex: number; executionAttemptId: string; restoreCheckpoint?: RestoreInfo | undefined }): void {
    if (d.restoreCheckpoint === undefined) return;
    const info: RestoreInfo = { checkpointId: d.restoreCheckpoint.checkpointId, ...(d.restoreCheckpoint.stateHandle !== undefined ? { stateHandle: d.restoreCheckpoint.stateHandle } : {}) };
    this.restored.set(d.executionAttemptId, info);
    this.log.info(
      { event: 'task-restored', jobId: d.jobId, jobVertexId: d.jobVertexId, subtaskIndex: d.subtaskIndex, executionAttemptId: d.executionAttemptId, checkpointId: info.checkpointId, stateHandle: info.stateHandle },
      `task restored from checkpoint ${info.checkpointId}`,
    );
  }

  /** The attempt finished/was cancelled: forget it. */
  removed(executionAttemptId: string): void {
    this.restored.delete(executionAttemptId);
  }

  restoredFrom(executionAttemptId: string): RestoreInfo | undefined {
    return this.restored.get(executionAttemptId);
  }

  lastConfirmed(jobId: string): number | undefined {
    return this.confirmed.get(jobId);
  }

  /**
   * Answers the trigger RPC at once; the acks/declines follow as one batch
   * each (like a real TaskManager, which snapshots asynchronously).
   */
  trigger(body: TriggerCheckpointBody): { acknowledged: number; declined: number } {
    const acks: SimAck[] = [];
    const declines: SimDecline[] = [];
    let delayMs = 0;
    for (const id of body.executionAttemptIds) {
      const task = this.options.lookup(id);
      const delay = Number(task?.config['sim.checkpoint.ack-delay-ms']);
      if (Number.isFinite(delay) && delay > delayMs) delayMs = Math.min(delay, 600_000);
      if (task === undefined || task.jobId !== body.jobId) {
        declines.push({ jobId: body.jobId, checkpointId: body.checkpointId, executionAttemptId: id, reason: `task ${id} is not known to TaskManager ${this.options.taskManagerId}` });
      } else if (task.state !== 'RUNNING') {
        declines.push({ jobId: body.jobId, checkpointId: body.checkpointId, executionAttemptId: id, reason: `task ${id} is ${task.state}, not RUNNING` });
      } else if (task.config['sim.checkpoint.decline'] === 'true') {
        declines.push({ jobId: body.jobId, checkpointId: body.checkpointId, executionAttemptId: id, reason: 'declined by sim.checkpoint.decline=true' });
      } else if (task.config['sim.checkpoint.ignore'] === 'true') {
        // Never answers: lets tests exercise the checkpoint timeout.
      } else {
        acks.push({
          jobId: body.jobId,
          checkpointId: body.checkpointId,
          executionAttemptId: id,
          stateSizeBytes: syntheticStateSize(task, body.checkpointId),
          stateHandle: `sim://${this.options.taskManagerId}/${body.jobId}/${task.jobVertexId}/${task.subtaskIndex}/chk-${body.checkpointId}`,
        });
      }
    }
    // sim.checkpoint.ack-delay-ms: the snapshot "takes" this long (keeps checkpoints in flight).
    setTimeout(() => {
      if (acks.length > 0) {
        this.options.sender.acknowledgeCheckpoints(this.options.taskManagerId, acks).catch((err: unknown) => {
          // The checkpoint will time out on the JobManager's side; nothing to retry.
          this.log.warn({ err: (err as Error).message, checkpointId: body.checkpointId, acks: acks.length }, 'checkpoint acknowledgement not delivered');
        });
      }
      if (declines.length > 0) {
        this.options.sender.declineCheckpoints(this.options.taskManagerId, declines).catch((err: unknown) => {
          this.log.warn({ err: (err as Error).message, checkpointId: body.checkpointId }, 'checkpoint decline not delivered');
        });
      }
    }, delayMs);
    return { acknowledged: acks.length, declined: declines.length };
  }

  confirm(body: ConfirmCheckpointBody): { confirmed: number } {
    const prev = this.confirmed.get(body.jobId) ?? 0;
    if (body.checkpointId > prev) this.confirmed.set(body.jobId, body.checkpointId);
    this.log.debug({ jobId: body.jobId, checkpointId: body.checkpointId }, 'checkpoint confirmed complete');
    return { confirmed: body.executionAttemptIds.length };
  }
}
