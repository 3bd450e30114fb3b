// Types shared by the checkpoint store, the CheckpointCoordinator and their
// adapters (RPC/REST/JobMaster). Plain data, no behaviour.

/** Minimal pino-compatible logger, so the domain core does not import pino. */
export interface DomainLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export const silentLogger: DomainLogger = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

/** The state of one JobGraph vertex in a completed checkpoint, indexed by subtask index. */
export interface VertexCheckpointState {
  readonly vertexId: string;
  /** Opaque handle each subtask acknowledged (null: the subtask reported no state). */
  readonly stateHandles: readonly (string | null)[];
  readonly stateSizes: readonly number[];
}

/** Durable metadata of one completed checkpoint (what chk-<id>.json holds). */
export interface CompletedCheckpoint {
  readonly jobId: string;
  readonly checkpointId: number;
  readonly triggerTimestamp: number;
  /** When all acknowledgements had arrived (before the metadata write). */
  readonly ackCompletedTimestamp: number;
  readonly stateSizeBytes: number;
  readonly vertices: readonly VertexCheckpointState[];
}

/** What a restored subtask is told (goes into TaskDeploymentDescriptor.restoreCheckpoint). */
export interface SubtaskRestore {
  readonly checkpointId: number;
  readonly stateHandle?: string;
}

/** A file that could not be loaded, as reported in logs and checkpoint stats. */
export interface CorruptCheckpointFile {
  readonly path: string;
  /** Where the file was moved so it is not reported again (undefined: could not move). */
  readonly quarantinedPath: string | undefined;
  /** From the file name, when it names one. */
  readonly checkpointId: number | undefined;
  readonly reason: string;
}

/** Result of reading a job's checkpoint directory at boot. */
export interface CheckpointRecovery {
  /** Valid completed checkpoints still retained, oldest first. */
  readonly completed: readonly CompletedCheckpoint[];
  readonly corrupt: readonly CorruptCheckpointFile[];
  /** The next checkpoint id to hand out (never one used before). */
  readonly nextCheckpointId: number;
}

export type JobStatusName =
  | 'INITIALIZING'
  | 'CREATED'
  | 'RUNNING'
  | 'FAILING'
  | 'FAILED'
  | 'CANCELLING'
  | 'CANCELED'
  | 'FINISHED'
  | 'RESTARTING'
  | 'SUSPENDED'
  | 'RECONCILING';

export const TERMINAL_JOB_STATUSES: ReadonlySet<string> = new Set(['FAILED', 'CANCELED', 'FINISHED']);

/** jobs/<jobid>/status.json */
export interface JobStatusRecord {
  readonly jobId: string;
  readonly name: string;
  readonly status: JobStatusName;
  readonly startTime: number;
  /** -1 while not terminal (Flink's convention). */
  readonly endTime: number;
  readonly updatedAt: number;
  /** Failure cause of a FAILED job. */
  readonly failureCause?: string;
}

/** A job found in the storage directory at boot. */
export interface StoredJob {
  readonly jobId: string;
  /** The submitted JobGraph JSON as stored (validated by the Dispatcher, not here). */
  readonly jobGraph: unknown;
  /** Absent when the job never got a status written (treat as submitted, non-terminal). */
  readonly status: JobStatusRecord | undefined;
}

export interface StoredJobs {
  /** Non-terminal jobs to recover. */
  readonly active: readonly StoredJob[];
  /** Terminal jobs, newest first, at most the archive capacity. */
  readonly archived: readonly StoredJob[];
  /** Files or folders that could not be read (also logged). */
  readonly problems: readonly CorruptCheckpointFile[];
}
