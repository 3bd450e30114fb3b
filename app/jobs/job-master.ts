// JobMaster: runs one job. Owns its ExecutionGraph and is its scheduler:
// acquires slots from the ResourceManager (gang request, slot.request.timeout),
// deploys in one batch per TaskManager through the TaskExecutorGateway, drives
// the task and job state machines, and restarts the job through its restart
// strategy on task failure or TaskManager loss (whole-job restart).
import type { TimerHandle } from '../cluster/clock.js';
import type { PendingSlotRequest, SlotAllocation } from '../cluster/types.js';
import { ExecutionGraph, STATE, isTerminalCode } from './execution-graph.js';
import { createRestartBackoff, type RestartBackoff } from './restart-strategy.js';
import {
  EXECUTION_STATES,
  JOB_STATUSES,
  TERMINAL_JOB_STATUSES,
  type CurrentExecutionAttempt,
  type DispatcherDeps,
  type ExceptionHistoryEntry,
  type JobGraph,
  type JobMasterApi,
  type JobStatus,
  type RestoreCheckpointProvider,
  type TaskDeploymentDescriptor,
  type TaskExecutionStateResult,
  type TaskExecutionStateUpdate,
  type TaskFailureInfo,
} from './types.js';

const MAX_STACK_CHARS = 64 * 1024;

/** What a JobMaster gets from its Dispatcher: the Dispatcher's own dependencies, minus the job-wide hooks. */
export type JobMasterDeps = Pick<DispatcherDeps, 'clock' | 'resourceManager' | 'gateway' | 'options' | 'log'>;

/** A failure as recorded in the exception history. */
export interface FailureCause {
  readonly exceptionName: string;
  readonly message: string;
  readonly stack?: string;
  readonly taskName?: string;
  readonly taskManagerId?: string;
  /** false = do not consult the restart strategy (e.g. slot request timeout). */
  readonly recoverable?: boolean;
}

type Listener<A extends unknown[]> = (...args: A) => void;

function emit<A extends unknown[]>(listeners: Set<Listener<A>>, ...args: A): void {
  for (const l of [...listeners]) l(...args);
}

export class JobMaster implements JobMasterApi {
  readonly graph: ExecutionGraph;
  readonly timestamps: Record<JobStatus, number>;
  lastModification: number;
  private jobStatus: JobStatus = 'INITIALIZING';
  /** Slot i hosts subtask i of every vertex (Flink's default slot sharing group). */
  private slots: (SlotAllocation | undefined)[];
  private slotRequest: PendingSlotRequest | undefined;
  private slotTimer: TimerHandle | undefined;
  private restartTimer: TimerHandle | undefined;
  private restartDelayElapsed = true;
  private readonly backoff: RestartBackoff;
  /** Newest first, bounded by exceptionHistorySize. */
  private readonly exceptions: ExceptionHistoryEntry[] = [];
  private exceptionsDropped = 0;
  private allRunning = false;
  /** Bumped whenever deployed attempts are abandoned (cancel, failover); stale async work checks it. */
  private epoch = 0;
  private restoreProvider: RestoreCheckpointProvider | undefined;
  /** RPC addresses of TaskManagers this job deployed to (still known after the TaskManager is lost). */
  private readonly tmAddresses = new Map<string, string>();
  private readonly statusListeners = new Set<Listener<[JobStatus, number]>>();
  private readonly allRunningListeners = new Set<Listener<[]>>();
  private readonly notRunningListeners = new Set<Listener<[]>>();

  constructor(
    readonly jobId: string,
    readonly jobGraph: JobGraph,
    private readonly deps: JobMasterDeps,
  ) {
    const now = deps.clock.now();
    this.timestamps = Object.fromEntries(JOB_STATUSES.map((s) => [s, 0])) as Record<JobStatus, number>;
    this.timestamps.INITIALIZING = now;
    this.lastModification = now;
    this.graph = new ExecutionGraph(jobGraph, deps.options.attemptHistorySize);
    this.slots = new Array<SlotAllocation | undefined>(this.graph.slotsNeeded).fill(undefined);
    this.backoff = createRestartBackoff(jobGraph.restartStrategy ?? deps.options.defaultRestartStrategy);
  }

  // ------------------------------------------------------------------ API

  status(): JobStatus {
    return this.jobStatus;
  }

  totalTasks(): number {
    return this.graph.totalSubtasks;
  }

  allTasksRunning(): boolean {
    return this.allRunning;
  }

  onAllTasksRunning(listener: () => void): () => void {
    this.allRunningListeners.add(listener);
    return () => this.allRunningListeners.delete(listener);
  }

  onTasksNoLongerRunning(listener: () => void): () => void {
    this.notRunningListeners.add(listener);
    return () => this.notRunningListeners.delete(listener);
  }

  onStatusChange(listener: (status: JobStatus, timestamp: number) => void): () => void {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }

  *currentAttempts(): Iterable<CurrentExecutionAttempt> {
    for (const v of this.graph.vertices) {
      for (let s = 0; s < v.parallelism; s++) yield this.attemptInfo(v.index, s);
    }
  }

  lookupAttempt(executionAttemptId: string): CurrentExecutionAttempt | undefined {
    const r = this.graph.resolveAttemptId(executionAttemptId);
    return r ? this.attemptInfo(r.v, r.s) : undefined;
  }

  setRestoreCheckpoint(provider: RestoreCheckpointProvider | undefined): void {
    this.restoreProvider = provider;
  }

  failGlobally(cause: TaskFailureInfo): void {
    this.handleFailure({ exceptionName: cause.class ?? 'JobException', message: cause.message, ...(cause.stack ? { stack: cause.stack } : {}) });
  }

  /** Restarts consumed so far (REST, tests). */
  restartCount(): number {
    return this.backoff.restarts;
  }

  /** True while the job waits for the ResourceManager to grant slots. */
  isWaitingForSlots(): boolean {
    return this.slotRequest !== undefined;
  }

  exceptionHistory(): { entries: readonly ExceptionHistoryEntry[]; dropped: number } {
    return { entries: this.exceptions, dropped: this.exceptionsDropped };
  }

  /**
   * Prior attempts of one subtask, newest first, bounded by
   * jobmanager.execution.attempts-history-size (REST subtask attempts).
   */
  priorAttempts(jobVertexId: string, subtaskIndex: number): { attempt: number; status: string; 'start-time': number; 'end-time': number; taskManagerId: string | null }[] | undefined {
    const vertex = this.graph.vertexByJobVertexId(jobVertexId);
    if (!vertex || !(Number.isInteger(subtaskIndex) && subtaskIndex >= 0 && subtaskIndex < vertex.parallelism)) return undefined;
    return vertex.history.entries(subtaskIndex).map((e) => ({
      attempt: e.attemptNumber,
      status: e.state,
      'start-time': e.startTime,
      'end-time': e.endTime,
      taskManagerId: this.graph.taskManagerName(e.tmIndex) ?? null,
    }));
  }

  /** Allocation ids currently held (tests, REST). */
  heldAllocations(): SlotAllocation[] {
    return this.slots.filter((s): s is SlotAllocation => s !== undefined);
  }

  // ------------------------------------------------------------------ lifecycle

  start(): void {
    if (this.jobStatus !== 'INITIALIZING') return;
    this.transition('CREATED');
    this.transition('RUNNING');
    this.schedule();
  }

  cancel(): JobStatus {
    if (TERMINAL_JOB_STATUSES.has(this.jobStatus) || this.jobStatus === 'CANCELLING') return this.jobStatus;
    if (this.restartTimer) this.deps.clock.clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    this.restartDelayElapsed = true;
    this.transition('CANCELLING');
    this.cancelAllTasks();
    this.maybeCompleteTransition();
    return this.jobStatus;
  }

  /** Stops timers and slot requests without changing state (JobManager shutdown). */
  close(): void {
    this.clearSlotWait();
    if (this.restartTimer) this.deps.clock.clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
  }

  // ------------------------------------------------------------------ inbound

  updateTaskExecutionState(update: TaskExecutionStateUpdate): TaskExecutionStateResult {
    const r = this.graph.resolveAttemptId(update.executionAttemptId);
    if (!r) return { applied: false, reason: 'unknown-attempt' };
    const { v, s } = r;
    const old = this.graph.vertices[v]!.states[s]!;
    switch (update.state) {
      case 'INITIALIZING':
        if (old !== STATE.DEPLOYING) return { applied: false, reason: 'invalid-transition' };
        this.setState(v, s, STATE.INITIALIZING);
        return { applied: true };
      case 'RUNNING':
        if (old !== STATE.DEPLOYING && old !== STATE.INITIALIZING) return { applied: false, reason: 'invalid-transition' };
        this.setState(v, s, STATE.RUNNING);
        if (!this.allRunning && this.jobStatus === 'RUNNING' && this.graph.countIn(STATE.RUNNING) === this.graph.totalSubtasks) {
          this.allRunning = true;
          emit(this.allRunningListeners);
        }
        return { applied: true };
      case 'FINISHED':
        if (old !== STATE.DEPLOYING && old !== STATE.INITIALIZING && old !== STATE.RUNNING) {
          if (old === STATE.CANCELING) {
            this.setState(v, s, STATE.CANCELED);
            this.maybeCompleteTransition();
            return { applied: true };
          }
          return { applied: false, reason: 'invalid-transition' };
        }
        this.setState(v, s, STATE.FINISHED);
        if (this.jobStatus === 'RUNNING' && this.graph.countIn(STATE.FINISHED) === this.graph.totalSubtasks) this.transition('FINISHED');
        return { applied: true };
      case 'CANCELED':
      case 'FAILED': {
        if (isTerminalCode(old)) return { applied: false, reason: 'invalid-transition' };
        if (old === STATE.CANCELING) {
          // A task failing while being cancelled counts as cancelled (as in Flink).
          this.setState(v, s, STATE.CANCELED);
          this.maybeCompleteTransition();
          return { applied: true };
        }
        if (old === STATE.CREATED || old === STATE.SCHEDULED) return { applied: false, reason: 'invalid-transition' };
        this.setState(v, s, STATE.FAILED);
        const f = update.failure;
        const unexpectedCancel = update.state === 'CANCELED';
        this.handleFailure({
          exceptionName: f?.class ?? (unexpectedCancel ? 'TaskCanceledUnexpectedly' : 'TaskFailure'),
          message: f?.message ?? (unexpectedCancel ? 'the TaskManager cancelled the task without being asked to' : 'task failed without a message'),
          ...(f?.stack ? { stack: f.stack } : {}),
          taskName: this.taskName(v, s),
          ...this.tmOf(v, s),
        });
        return { applied: true };
      }
      default:
        // Only reachable with an unchecked body; the RPC adapter validates states.
        return { applied: false, reason: 'invalid-transition' };
    }
  }

  /** Called by the Dispatcher for every TaskManager the ResourceManager declares lost. */
  handleTaskManagerLost(taskManagerId: string, cause: string): void {
    if (TERMINAL_JOB_STATUSES.has(this.jobStatus)) return;
    let affected = false;
    let failed = 0;
    let firstFailed: { v: number; s: number } | undefined;
    for (let i = 0; i < this.slots.length; i++) {
      if (this.slots[i]?.taskManagerId !== taskManagerId) continue;
      this.slots[i] = undefined;
      affected = true;
      for (const vertex of this.graph.vertices) {
        if (i >= vertex.parallelism) continue;
        const code = vertex.states[i]!;
        if (code === STATE.CANCELING) this.setState(vertex.index, i, STATE.CANCELED);
        else if (code === STATE.DEPLOYING || code === STATE.INITIALIZING || code === STATE.RUNNING) {
          this.setState(vertex.index, i, STATE.FAILED);
          firstFailed ??= { v: vertex.index, s: i };
          failed++;
        }
      }
    }
    if (!affected) return;
    if (failed > 0) {
      this.handleFailure({
        exceptionName: 'TaskManagerLostException',
        message: `${cause} (${failed} task(s) of this job were running there)`,
        taskManagerId,
        ...(firstFailed ? { taskName: this.taskName(firstFailed.v, firstFailed.s) } : {}),
      });
    } else if (this.jobStatus === 'RUNNING' && this.slotRequest) {
      // Slots held while waiting for more are gone: ask again for the difference.
      this.slotRequest.cancel();
      this.slotRequest = undefined;
      this.acquireSlotsAndDeploy();
    }
    this.maybeCompleteTransition();
  }

  // ------------------------------------------------------------------ scheduling

  private schedule(): void {
    for (const vertex of this.graph.vertices) {
      for (let s = 0; s < vertex.parallelism; s++) this.setState(vertex.index, s, STATE.SCHEDULED);
    }
    this.acquireSlotsAndDeploy();
  }

  private acquireSlotsAndDeploy(): void {
    const rm = this.deps.resourceManager;
    let missing = 0;
    for (let i = 0; i < this.slots.length; i++) {
      const a = this.slots[i];
      if (a && !rm.isAllocationAlive(a.allocationId)) this.slots[i] = undefined;
      if (!this.slots[i]) missing++;
    }
    if (missing === 0) {
      this.clearSlotWait();
      this.deploy();
      return;
    }
    if (!this.slotTimer) {
      const timeoutMs = this.deps.options.slotRequestTimeoutMs;
      this.slotTimer = this.deps.clock.setTimeout(() => this.onSlotRequestTimeout(), timeoutMs);
    }
    let granted = false;
    const request = rm.requestSlots(this.jobId, missing, (slots) => {
      granted = true;
      this.slotRequest = undefined;
      if (this.jobStatus !== 'RUNNING') {
        rm.releaseSlots(slots.map((g) => g.allocationId));
        return;
      }
      let k = 0;
      for (let i = 0; i < this.slots.length && k < slots.length; i++) if (!this.slots[i]) this.slots[i] = slots[k++];
      if (k < slots.length) rm.releaseSlots(slots.slice(k).map((g) => g.allocationId));
      this.acquireSlotsAndDeploy();
    });
    // The ResourceManager may have granted synchronously (and we deployed already).
    if (!granted) this.slotRequest = request;
  }

  private onSlotRequestTimeout(): void {
    this.slotTimer = undefined;
    if (this.jobStatus !== 'RUNNING' || !this.slotRequest) return;
    const needed = this.slots.filter((x) => !x).length;
    const totals = this.deps.resourceManager.slotTotals();
    this.handleFailure({
      exceptionName: 'NoResourceAvailableException',
      message:
        `Could not acquire the minimum required resources: the job needs ${this.slots.length} slot(s), ${needed} of them were still missing ` +
        `when slot.request.timeout (${this.deps.options.slotRequestTimeoutMs} ms) expired; the cluster has ${totals.slotsAvailable} free of ` +
        `${totals.slotsTotal} slot(s) on ${totals.taskManagers} TaskManager(s).`,
      recoverable: false,
    });
  }

  private clearSlotWait(): void {
    if (this.slotTimer) this.deps.clock.clearTimeout(this.slotTimer);
    this.slotTimer = undefined;
    if (this.slotRequest) this.slotRequest.cancel();
    this.slotRequest = undefined;
  }

  private deploy(): void {
    const byTaskManager = new Map<string, TaskDeploymentDescriptor[]>();
    const g = this.graph;
    for (const vertex of g.vertices) {
      const spec = vertex.spec;
      for (let s = 0; s < vertex.parallelism; s++) {
        if (vertex.states[s] !== STATE.SCHEDULED) continue;
        const slot = this.slots[s]!;
        this.setState(vertex.index, s, STATE.DEPLOYING);
        vertex.taskManagers[s] = g.internTaskManager(slot.taskManagerId);
        const restore = this.restoreProvider?.(vertex.jobVertexId, s);
        const descriptor: TaskDeploymentDescriptor = {
          jobId: this.jobId,
          jobVertexId: vertex.jobVertexId,
          vertexName: spec.name,
          subtaskIndex: s,
          parallelism: vertex.parallelism,
          maxParallelism: spec.maxParallelism,
          attemptNumber: vertex.attempts[s]!,
          executionAttemptId: g.attemptId(vertex.index, s),
          allocationId: slot.allocationId,
          slotIndex: slot.slotIndex,
          config: spec.config,
          inputs: g.inputSummaries(vertex.index, s),
          ...(restore ? { restoreCheckpoint: restore } : {}),
        };
        let batch = byTaskManager.get(slot.taskManagerId);
        if (!batch) {
          byTaskManager.set(slot.taskManagerId, (batch = []));
          const address = this.deps.resourceManager.rpcAddressOf(slot.taskManagerId);
          if (address) this.tmAddresses.set(slot.taskManagerId, address);
        }
        batch.push(descriptor);
      }
    }
    const epoch = this.epoch;
    // Calls leave in a microtask, so a gateway that answers synchronously
    // never re-enters the loop above.
    queueMicrotask(() => {
      for (const [taskManagerId, descriptors] of byTaskManager) {
        if (this.epoch !== epoch) return;
        let call: Promise<void>;
        try {
          call = this.deps.gateway.deployTasks(taskManagerId, descriptors);
        } catch (err) {
          call = Promise.reject(err);
        }
        call.catch((err: unknown) => this.onDeployFailed(epoch, taskManagerId, descriptors, err));
      }
    });
  }

  private onDeployFailed(epoch: number, taskManagerId: string, descriptors: readonly TaskDeploymentDescriptor[], err: unknown): void {
    if (this.epoch !== epoch || TERMINAL_JOB_STATUSES.has(this.jobStatus)) return;
    let failed: { v: number; s: number } | undefined;
    for (const d of descriptors) {
      const r = this.graph.resolveAttemptId(d.executionAttemptId);
      if (!r) continue;
      const code = this.graph.vertices[r.v]!.states[r.s]!;
      if (code === STATE.CANCELING) this.setState(r.v, r.s, STATE.CANCELED);
      else if (!isTerminalCode(code)) {
        this.setState(r.v, r.s, STATE.FAILED);
        failed ??= r;
      }
    }
    const message = err instanceof Error ? err.message : String(err);
    this.deps.log?.warn({ jobId: this.jobId, taskManagerId, err: message }, 'task deployment failed');
    if (failed) {
      this.handleFailure({
        exceptionName: 'TaskDeploymentException',
        message: `Could not deploy ${descriptors.length} task(s) to TaskManager ${taskManagerId}: ${message}`,
        taskName: this.taskName(failed.v, failed.s),
        taskManagerId,
      });
    }
    this.maybeCompleteTransition();
  }

  // ------------------------------------------------------------------ failover

  private handleFailure(cause: FailureCause): void {
    const status = this.jobStatus;
    if (TERMINAL_JOB_STATUSES.has(status) || status === 'CANCELLING' || status === 'FAILING') return;
    const entry = this.exceptionEntry(cause);
    if (status === 'RESTARTING') {
      // Already failing over: attach to the failure being handled.
      const latest = this.exceptions[0];
      if (latest && latest.concurrentExceptions.length < this.deps.options.exceptionHistorySize) {
        (latest.concurrentExceptions as ExceptionHistoryEntry[]).push(entry);
      }
      return;
    }
    this.exceptions.unshift(entry);
    while (this.exceptions.length > this.deps.options.exceptionHistorySize) {
      this.exceptions.pop();
      this.exceptionsDropped++;
    }
    const delay = cause.recoverable === false ? undefined : this.backoff.nextRestartDelayMs();
    this.deps.log?.warn(
      { jobId: this.jobId, cause: `${cause.exceptionName}: ${cause.message}`, restart: delay !== undefined, delayMs: delay },
      delay === undefined ? 'job failing' : 'job restarting',
    );
    if (delay === undefined) {
      this.transition('FAILING');
      this.cancelAllTasks();
    } else {
      this.transition('RESTARTING');
      this.cancelAllTasks();
      this.restartDelayElapsed = false;
      this.restartTimer = this.deps.clock.setTimeout(() => {
        this.restartTimer = undefined;
        this.restartDelayElapsed = true;
        this.maybeCompleteTransition();
      }, delay);
    }
    this.maybeCompleteTransition();
  }

  /** CREATED/SCHEDULED -> CANCELED at once; deployed ones -> CANCELING, one cancel call per TaskManager. */
  private cancelAllTasks(): void {
    this.epoch++;
    this.clearSlotWait();
    const byTaskManager = new Map<string, string[]>();
    for (const vertex of this.graph.vertices) {
      for (let s = 0; s < vertex.parallelism; s++) {
        const code = vertex.states[s]!;
        if (code === STATE.CREATED || code === STATE.SCHEDULED) this.setState(vertex.index, s, STATE.CANCELED);
        else if (code === STATE.DEPLOYING || code === STATE.INITIALIZING || code === STATE.RUNNING || code === STATE.CANCELING) {
          this.setState(vertex.index, s, STATE.CANCELING);
          const tm = this.graph.taskManagerName(vertex.taskManagers[s]!);
          if (tm === undefined) continue;
          let ids = byTaskManager.get(tm);
          if (!ids) byTaskManager.set(tm, (ids = []));
          ids.push(this.graph.attemptId(vertex.index, s));
        }
      }
    }
    queueMicrotask(() => {
      for (const [taskManagerId, ids] of byTaskManager) {
        let call: Promise<void>;
        try {
          call = this.deps.gateway.cancelTasks(taskManagerId, ids);
        } catch (err) {
          call = Promise.reject(err);
        }
        // Resolved: the TaskManager stopped them. Rejected: it cannot be
        // reached, so its tasks are gone with it. Either way they are CANCELED.
        const settle = (): void => this.markCanceled(ids);
        call.then(settle, (err: unknown) => {
          this.deps.log?.warn({ jobId: this.jobId, taskManagerId, err: err instanceof Error ? err.message : String(err) }, 'task cancellation call failed');
          settle();
        });
      }
    });
  }

  private markCanceled(ids: readonly string[]): void {
    for (const id of ids) {
      const r = this.graph.resolveAttemptId(id);
      if (r && this.graph.vertices[r.v]!.states[r.s] === STATE.CANCELING) this.setState(r.v, r.s, STATE.CANCELED);
    }
    this.maybeCompleteTransition();
  }

  private maybeCompleteTransition(): void {
    if (this.graph.nonTerminalCount() > 0) return;
    switch (this.jobStatus) {
      case 'CANCELLING':
        this.transition('CANCELED');
        break;
      case 'FAILING':
        this.transition('FAILED');
        break;
      case 'RESTARTING':
        if (this.restartDelayElapsed) this.restart();
        break;
      default:
        break;
    }
  }

  private restart(): void {
    this.graph.resetForRestart();
    this.allRunning = false;
    this.transition('RUNNING');
    this.schedule();
  }

  // ------------------------------------------------------------------ helpers

  private setState(v: number, s: number, code: number): void {
    const old = this.graph.setState(v, s, code, this.deps.clock.now());
    if (old === STATE.RUNNING && code !== STATE.RUNNING && this.allRunning) {
      this.allRunning = false;
      emit(this.notRunningListeners);
    }
  }

  private transition(status: JobStatus): void {
    if (this.jobStatus === status) return;
    const now = this.deps.clock.now();
    this.jobStatus = status;
    this.timestamps[status] = now;
    this.lastModification = now;
    if (TERMINAL_JOB_STATUSES.has(status)) {
      this.close();
      const held = this.heldAllocations().map((a) => a.allocationId);
      this.slots.fill(undefined);
      this.deps.resourceManager.releaseSlots(held);
    }
    this.deps.log?.info({ jobId: this.jobId, status }, `job ${status}`);
    emit(this.statusListeners, status, now);
  }

  private attemptInfo(v: number, s: number): CurrentExecutionAttempt {
    const vertex = this.graph.vertices[v]!;
    return {
      jobVertexId: vertex.jobVertexId,
      subtaskIndex: s,
      attemptNumber: vertex.attempts[s]!,
      executionAttemptId: this.graph.attemptId(v, s),
      state: EXECUTION_STATES[vertex.states[s]!]!,
      taskManagerId: this.graph.taskManagerName(vertex.taskManagers[s]!),
    };
  }

  /** Flink's "Name (i+1/p)#attempt". */
  taskName(v: number, s: number): string {
    const vertex = this.graph.vertices[v]!;
    return `${vertex.spec.name} (${s + 1}/${vertex.parallelism})#${vertex.attempts[s]}`;
  }

  private tmOf(v: number, s: number): { taskManagerId?: string } {
    const tm = this.graph.taskManagerName(this.graph.vertices[v]!.taskManagers[s]!);
    return tm === undefined ? {} : { taskManagerId: tm };
  }

  private exceptionEntry(cause: FailureCause): ExceptionHistoryEntry {
    const head = `${cause.exceptionName}: ${cause.message}`;
    let stacktrace = cause.stack ? (cause.stack.includes(cause.message) ? cause.stack : `${head}\n${cause.stack}`) : head;
    if (stacktrace.length > MAX_STACK_CHARS) stacktrace = stacktrace.slice(0, MAX_STACK_CHARS) + '\n... (truncated)';
    const address = cause.taskManagerId
      ? (this.deps.resourceManager.rpcAddressOf(cause.taskManagerId) ?? this.tmAddresses.get(cause.taskManagerId))
      : undefined;
    return {
      exceptionName: cause.exceptionName,
      stacktrace,
      timestamp: this.deps.clock.now(),
      taskName: cause.taskName ?? null,
      location: address ?? null,
      endpoint: address ?? null,
      taskManagerId: cause.taskManagerId ?? null,
      failureLabels: {},
      concurrentExceptions: [],
    };
  }
}
