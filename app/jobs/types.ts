// CONTRACT of the job side (app/jobs): JobGraph, the TaskManager-facing
// ports, the Dispatcher API the REST/RPC adapters use, and the JobMaster
// hooks the checkpoint work uses. Transport-agnostic.

// ---------------------------------------------------------------- JobGraph

export type DistributionPattern = 'ALL_TO_ALL' | 'POINTWISE';

export interface JobVertexSpec {
  /** The job's own key (1..256 chars). The REST API shows a 32-hex JobVertexID derived from it. */
  readonly id: string;
  readonly name: string;
  /** 1 <= parallelism <= maxParallelism */
  readonly parallelism: number;
  /** <= 32768; default: max(128, roundUpToPowerOfTwo(parallelism * 1.5)) as Flink, capped at 32768. */
  readonly maxParallelism: number;
  /** Travels unchanged to the TaskManagers in the deployment descriptor. */
  readonly config: Readonly<Record<string, string>>;
}

export interface JobEdgeSpec {
  readonly source: string;
  readonly target: string;
  readonly distribution: DistributionPattern;
}

export interface CheckpointingSpec {
  readonly interval: number; // ms, > 0
  readonly timeout: number; // ms, > 0
  readonly minPause: number; // ms, >= 0
  readonly maxConcurrent: number; // >= 1
  readonly retained: number; // >= 1
}

export type RestartStrategySpec =
  | { readonly type: 'none' }
  | { readonly type: 'fixed-delay'; readonly attempts: number; readonly delay: number }
  | {
      readonly type: 'exponential-delay';
      readonly initialDelay: number;
      readonly maxDelay: number;
      readonly multiplier: number;
      /** Restarts allowed in total (default: unbounded -> Number.MAX_SAFE_INTEGER). */
      readonly attempts: number;
    };

/** A validated, normalised JobGraph (defaults filled in). */
export interface JobGraph {
  readonly name: string;
  readonly vertices: readonly JobVertexSpec[];
  readonly edges: readonly JobEdgeSpec[];
  readonly checkpointing?: CheckpointingSpec;
  /** Absent in the body -> the cluster default (restart-strategy.* keys). */
  readonly restartStrategy?: RestartStrategySpec;
}

// ---------------------------------------------------------------- states

export const EXECUTION_STATES = [
  'CREATED',
  'SCHEDULED',
  'DEPLOYING',
  'INITIALIZING',
  'RUNNING',
  'FINISHED',
  'CANCELING',
  'CANCELED',
  'FAILED',
  'RECONCILING', // listed by Flink's REST counts; never entered here
] as const;
export type ExecutionState = (typeof EXECUTION_STATES)[number];

export const JOB_STATUSES = [
  'INITIALIZING',
  'CREATED',
  'RUNNING',
  'FAILING',
  'FAILED',
  'CANCELLING',
  'CANCELED',
  'FINISHED',
  'RESTARTING',
  'SUSPENDED',
  'RECONCILING',
] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export const TERMINAL_JOB_STATUSES: ReadonlySet<JobStatus> = new Set(['FAILED', 'CANCELED', 'FINISHED']);

// ---------------------------------------------------------------- TaskManager ports

export interface TaskInputSummary {
  /** 32-hex JobVertexID of the producer. */
  readonly sourceJobVertexId: string;
  readonly distribution: DistributionPattern;
  /** Producer subtasks consumed: [start, endExclusive). All of them for ALL_TO_ALL. */
  readonly subtaskRange: readonly [number, number];
}

export interface RestoreCheckpoint {
  readonly checkpointId: number;
  /** Opaque per-task state handle chosen by the checkpoint work. */
  readonly stateHandle?: string;
}

export interface TaskDeploymentDescriptor {
  readonly jobId: string;
  readonly jobVertexId: string;
  readonly vertexName: string;
  readonly subtaskIndex: number;
  readonly parallelism: number;
  readonly maxParallelism: number;
  readonly attemptNumber: number;
  /** 32 hex. */
  readonly executionAttemptId: string;
  readonly allocationId: string;
  readonly slotIndex: number;
  /** The vertex `config` of the JobGraph. */
  readonly config: Readonly<Record<string, string>>;
  readonly inputs: readonly TaskInputSummary[];
  readonly restoreCheckpoint?: RestoreCheckpoint;
}

/** Outbound port: implemented by the RPC client (undici), faked in tests. Batched per TaskManager. */
export interface TaskExecutorGateway {
  /** Resolves when the TaskManager accepted the descriptors; rejects if it could not be reached/refused. */
  deployTasks(taskManagerId: string, descriptors: readonly TaskDeploymentDescriptor[]): Promise<void>;
  cancelTasks(taskManagerId: string, executionAttemptIds: readonly string[]): Promise<void>;
}

export interface TaskFailureInfo {
  readonly class?: string;
  readonly message: string;
  readonly stack?: string;
}

/** Inbound from TaskManagers. */
export interface TaskExecutionStateUpdate {
  readonly jobId: string;
  readonly executionAttemptId: string;
  readonly state: 'INITIALIZING' | 'RUNNING' | 'FINISHED' | 'FAILED' | 'CANCELED';
  readonly failure?: TaskFailureInfo;
}

/** `applied: false` = stale/unknown attempt (ignored; the TaskManager may cancel the task). */
export type TaskExecutionStateResult = { readonly applied: true } | { readonly applied: false; readonly reason: 'unknown-job' | 'unknown-attempt' | 'invalid-transition' };

// ---------------------------------------------------------------- REST shapes (Flink REST API v1)

export type TaskCountsUpper = Record<ExecutionState, number>;
/** /jobs/overview uses lowercase keys plus `total`. */
export type TaskCountsLower = Record<Lowercase<ExecutionState> | 'total', number>;

export interface JobIdWithStatus {
  readonly id: string;
  readonly status: JobStatus;
}

export interface JobOverviewEntry {
  readonly jid: string;
  readonly name: string;
  readonly state: JobStatus;
  readonly 'start-time': number;
  readonly 'end-time': number;
  readonly duration: number;
  readonly 'last-modification': number;
  readonly tasks: TaskCountsLower;
}

export interface VertexMetrics {
  readonly 'read-bytes': number;
  readonly 'read-bytes-complete': boolean;
  readonly 'write-bytes': number;
  readonly 'write-bytes-complete': boolean;
  readonly 'read-records': number;
  readonly 'read-records-complete': boolean;
  readonly 'write-records': number;
  readonly 'write-records-complete': boolean;
  readonly 'accumulated-backpressured-time': number;
  readonly 'accumulated-idle-time': number;
  readonly 'accumulated-busy-time': number;
}

export interface JobDetailsVertex {
  readonly id: string;
  readonly name: string;
  readonly maxParallelism: number;
  readonly parallelism: number;
  readonly status: ExecutionState;
  readonly 'start-time': number;
  readonly 'end-time': number;
  readonly duration: number;
  readonly tasks: TaskCountsUpper;
  readonly metrics: VertexMetrics;
}

export interface JobPlanNode {
  readonly id: string;
  readonly parallelism: number;
  readonly operator: string;
  readonly operator_strategy: string;
  readonly description: string;
  readonly inputs?: readonly { readonly num: number; readonly id: string; readonly ship_strategy: string; readonly exchange: string }[];
  readonly optimizer_properties: Record<string, never>;
}

export interface JobPlan {
  readonly jid: string;
  readonly name: string;
  readonly type: 'STREAMING';
  readonly nodes: readonly JobPlanNode[];
}

export interface JobDetails {
  readonly jid: string;
  readonly name: string;
  readonly isStoppable: boolean;
  readonly state: JobStatus;
  readonly 'job-type': 'STREAMING';
  readonly 'start-time': number;
  readonly 'end-time': number;
  readonly duration: number;
  readonly maxParallelism: number;
  readonly now: number;
  readonly timestamps: Record<JobStatus, number>;
  readonly vertices: readonly JobDetailsVertex[];
  readonly 'status-counts': TaskCountsUpper;
  readonly plan: JobPlan;
}

export interface ExceptionHistoryEntry {
  readonly exceptionName: string;
  readonly stacktrace: string;
  readonly timestamp: number;
  readonly taskName: string | null;
  /** Flink 1.x `location` (host:port of the TaskManager) */
  readonly location: string | null;
  readonly endpoint: string | null;
  readonly taskManagerId: string | null;
  readonly failureLabels: Record<string, string>;
  readonly concurrentExceptions: readonly ExceptionHistoryEntry[];
}

export interface JobExceptions {
  readonly 'root-exception': string | null;
  readonly timestamp: number | null;
  readonly 'all-exceptions': readonly { readonly exception: string; readonly task: string; readonly location: string; readonly timestamp: number; readonly taskManagerId: string }[];
  readonly truncated: boolean;
  readonly exceptionHistory: { readonly entries: readonly ExceptionHistoryEntry[]; readonly truncated: boolean };
}

/** /overview minus flink-version/flink-commit (the REST adapter adds them). */
export interface ClusterOverview {
  readonly taskmanagers: number;
  readonly 'slots-total': number;
  readonly 'slots-available': number;
  readonly 'jobs-running': number;
  readonly 'jobs-finished': number;
  readonly 'jobs-cancelled': number;
  readonly 'jobs-failed': number;
}

// ---------------------------------------------------------------- Dispatcher

export interface SubmitResult {
  readonly jobId: string;
}

export interface DispatcherApi {
  /** Validates and starts the job. Throws JobValidationError (errors[] each naming the field). */
  submitJob(body: unknown): SubmitResult;
  /** Throws JobNotFoundError for an unknown job. Cancelling a terminal job is a no-op. Returns the status after the call. */
  cancelJob(jobId: string): JobStatus;
  listJobs(): { jobs: JobIdWithStatus[] };
  jobsOverview(): { jobs: JobOverviewEntry[] };
  /** undefined for an unknown job (REST answers 404). */
  jobDetails(jobId: string): JobDetails | undefined;
  /** For a 404: why a job id is unknown when the archive remembers (evicted to stay within the cache budget). */
  missingJobReason?(jobId: string): string | undefined;
  jobPlan(jobId: string): { plan: JobPlan } | undefined;
  jobExceptions(jobId: string, maxExceptions?: number): JobExceptions | undefined;
  overview(): ClusterOverview;
  /** RPC inbound: routes to the job's JobMaster. */
  updateTaskExecutionState(update: TaskExecutionStateUpdate): TaskExecutionStateResult;
  updateTaskExecutionStates(updates: readonly TaskExecutionStateUpdate[]): TaskExecutionStateResult[];
  /** The live JobMaster of a non-archived job (checkpoint work). */
  jobMaster(jobId: string): JobMasterApi | undefined;
  onJobStatusChange(listener: JobStatusListener): () => void;
  /** Cancels timers; does not cancel jobs. */
  close(): void;
}

export type JobStatusListener = (jobId: string, status: JobStatus, timestamp: number) => void;

// ---------------------------------------------------------------- JobMaster hooks (checkpoint work)

export interface CurrentExecutionAttempt {
  readonly jobVertexId: string;
  readonly subtaskIndex: number;
  readonly attemptNumber: number;
  readonly executionAttemptId: string;
  readonly state: ExecutionState;
  readonly taskManagerId: string | undefined;
}

export interface JobMasterApi {
  readonly jobId: string;
  readonly jobGraph: JobGraph;
  status(): JobStatus;
  /** Number of subtasks (all vertices). */
  totalTasks(): number;
  /** True when every subtask's current attempt is RUNNING. */
  allTasksRunning(): boolean;
  /** Fires each time the job reaches "every task RUNNING" (after deployment and after each restart). */
  onAllTasksRunning(listener: () => void): () => void;
  /** Fires when any current attempt leaves RUNNING (failure, cancel, restart) - checkpoints must abort. */
  onTasksNoLongerRunning(listener: () => void): () => void;
  onStatusChange(listener: (status: JobStatus, timestamp: number) => void): () => void;
  /** Iterates the current attempt of every subtask (no array of 20,000 objects built unless asked). */
  currentAttempts(): Iterable<CurrentExecutionAttempt>;
  /** Resolve an attempt id of the CURRENT attempts to its subtask; undefined when stale. */
  lookupAttempt(executionAttemptId: string): CurrentExecutionAttempt | undefined;
  /** Used for the next deployments (after a restart). undefined clears. */
  setRestoreCheckpoint(provider: RestoreCheckpointProvider | undefined): void;
  /** Fail the job's tasks globally (e.g. too many failed checkpoints); goes through the restart strategy. */
  failGlobally(cause: TaskFailureInfo): void;
}

/** Supplies the restore info for one subtask at deployment time. */
export type RestoreCheckpointProvider = (jobVertexId: string, subtaskIndex: number) => RestoreCheckpoint | undefined;

export interface JobManagerJobsOptions {
  readonly slotRequestTimeoutMs: number;
  readonly defaultRestartStrategy: RestartStrategySpec;
  /** Terminal jobs remembered (jobstore.max-capacity). */
  readonly archivedJobsMax: number;
  /** Prior attempts remembered per subtask (Flink jobmanager.execution.attempts-history-size, 16). */
  readonly attemptHistorySize: number;
  /** Entries kept in a job's exception history (Flink web.exception-history-size, 16). */
  readonly exceptionHistorySize: number;
}

/**
 * Construction (composition root):
 *   const rm = new ResourceManager(clock, { heartbeatIntervalMs, heartbeatTimeoutMs });   // app/cluster/resource-manager.ts
 *   const dispatcher = new Dispatcher({ clock, resourceManager: rm, gateway, options });   // app/jobs/dispatcher.ts
 *   setInterval(() => rm.checkHeartbeats(), min(heartbeatIntervalMs, 1000)).unref();
 * The Dispatcher subscribes to rm.onTaskManagerLost itself.
 */
export interface DispatcherDeps {
  readonly clock: import('../cluster/clock.js').Clock;
  readonly resourceManager: import('../cluster/types.js').ResourceManagerApi;
  readonly gateway: TaskExecutorGateway;
  readonly options: JobManagerJobsOptions;
  /**
   * Admission control (the memory plan's live-coordination budget): called
   * with the validated JobGraph before any ExecutionGraph memory is allocated.
   * Throw (e.g. AdmissionRejectedError, HTTP 503) to refuse the job; the
   * returned function, if any, is called once when the job is archived.
   */
  readonly admitJob?: (jobId: string, jobGraph: JobGraph) => (() => void) | void;
  /**
   * Where terminal jobs' snapshots are kept (Flink's jobstore role). Default: a
   * Map bounded by archivedJobsMax. The composition root passes a store bounded
   * in bytes by the memory plan's cache budget (app/memory/caches.ts).
   */
  readonly createArchiveStore?: <V extends object>() => ArchiveStore<V>;
  /** Optional structured log sink (pino-compatible subset). */
  readonly log?: { info(obj: object, msg?: string): void; warn(obj: object, msg?: string): void };
}

/**
 * The subset of Map the Dispatcher's archive uses. keys()/values()/entries()
 * iterate oldest (least recently used) first, as a Map's insertion order.
 */
export interface ArchiveStore<V> {
  get(key: string): V | undefined;
  has(key: string): boolean;
  set(key: string, value: V): unknown;
  delete(key: string): boolean;
  readonly size: number;
  keys(): IterableIterator<string>;
  values(): IterableIterator<V>;
  entries(): IterableIterator<[string, V]>;
  [Symbol.iterator](): IterableIterator<[string, V]>;
  /** Why `key` is no longer here (e.g. evicted to stay within the cache budget); undefined = never known or deleted. */
  evictionMessage?(key: string): string | undefined;
  /**
   * Subscribe to entries the store drops on its own (evicted to stay within a
   * budget), i.e. not through delete() or a set() of the same key; a store
   * that never does so need not implement it.
   */
  onEvicted?(listener: (key: string, value: V) => void): void;
}
