// One simulated TaskManager: registers with the JobManager, heartbeats with a
// slot report, runs synthetic tasks in its slots and reports their state
// transitions in batches. When the JobManager forgets it (unknown-taskmanager)
// or stays unreachable for longer than the heartbeat timeout, it frees its
// slots (the JobManager has failed those tasks already) and registers again,
// as Flink's TaskExecutor does on losing its ResourceManager.
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyBaseLogger } from 'fastify';
import type {
  RegisterRequest,
  RpcTaskDeploymentDescriptor,
  SlotReportEntry,
  TaskFailure,
  TaskState,
  TaskStateUpdate,
} from '../http/rpc/protocol.js';
import { SimulatedCheckpointing } from './checkpoints.js';
import { JobManagerRpcError, type JobManagerClient } from './jobmanager-client.js';
import { taskBehaviour } from './synthetic-task.js';

export interface SimulatedTaskManagerOptions {
  taskManagerId: string;
  numberOfSlots: number;
  /** Base URL of the HTTP server that routes deploy/cancel to this TaskManager. */
  rpcAddress: string;
  client: JobManagerClient;
  logger: FastifyBaseLogger;
  /** Delay between registration attempts while the JobManager is unreachable (grows x2 up to 10x). */
  registrationRetryMs?: number;
  /** Updates are collected this long before one batched report. */
  reportFlushMs?: number;
  memoryBytes?: number;
  cpuCores?: number;
}

type ReportedState = TaskStateUpdate['state'];

interface SlotContent {
  allocationId: string;
  jobId: string;
  attempts: Set<string>;
}

interface RunningTask {
  descriptor: RpcTaskDeploymentDescriptor;
  state: TaskState;
  timers: NodeJS.Timeout[];
}

export type ConnectionState = 'registering' | 'registered' | 'stopped';

export class SimulatedTaskManager {
  readonly taskManagerId: string;
  readonly numberOfSlots: number;
  private readonly options: SimulatedTaskManagerOptions;
  private readonly log: FastifyBaseLogger;
  /** executionAttemptId -> task */
  private readonly tasks = new Map<string, RunningTask>();
  /**
   * Per slot: its allocation and the attempts running in it. Several attempts
   * share a slot (Flink's slot sharing: subtask i of every vertex of a job).
   */
  private readonly slots: (SlotContent | undefined)[];
  private pendingUpdates: TaskStateUpdate[] = [];
  private flushTimer: NodeJS.Timeout | undefined;
  private reporting = false;
  private registrationId: string | undefined;
  private heartbeatIntervalMs = 10_000;
  private heartbeatTimeoutMs = 50_000;
  private lastAcknowledgedAt = 0;
  private stopController = new AbortController();
  private loop: Promise<void> | undefined;
  /** Bumped whenever the TaskManager drops its tasks, so in-flight reports of the old epoch are discarded. */
  private epoch = 0;
  connectionState: ConnectionState = 'registering';
  registrations = 0;
  /** Checkpoint trigger/confirm handling and the restore report (issue 4). */
  readonly checkpoints: SimulatedCheckpointing;

  constructor(options: SimulatedTaskManagerOptions) {
    this.options = options;
    this.taskManagerId = options.taskManagerId;
    this.numberOfSlots = options.numberOfSlots;
    this.slots = new Array<SlotContent | undefined>(options.numberOfSlots).fill(undefined);
    this.log = options.logger.child({ taskManagerId: options.taskManagerId });
    this.checkpoints = new SimulatedCheckpointing({
      taskManagerId: options.taskManagerId,
      sender: options.client,
      log: this.log,
      lookup: (id) => {
        const task = this.tasks.get(id);
        if (task === undefined) return undefined;
        const d = task.descriptor;
        return { jobId: d.jobId, jobVertexId: d.jobVertexId, subtaskIndex: d.subtaskIndex, state: task.state, config: d.config };
      },
    });
  }

  start(): void {
    if (this.loop !== undefined) return;
    this.loop = this.run().catch((err: unknown) => {
      this.log.error({ err }, 'TaskManager loop crashed');
    });
  }

  async stop(): Promise<void> {
    this.connectionState = 'stopped';
    this.stopController.abort();
    this.dropAllTasks();
    if (this.flushTimer !== undefined) clearTimeout(this.flushTimer);
    await this.loop;
  }

  get runningTaskCount(): number {
    return this.tasks.size;
  }

  get isRegistered(): boolean {
    return this.connectionState === 'registered';
  }

  taskStates(): { executionAttemptId: string; state: TaskState; slotIndex: number }[] {
    return [...this.tasks.values()].map((t) => ({
      executionAttemptId: t.descriptor.executionAttemptId,
      state: t.state,
      slotIndex: t.descriptor.slotIndex,
    }));
  }

  // ---------------------------------------------------------------- inbound

  /** Validates the whole batch first so a bad batch starts nothing. Returns errors or counts. */
  deploy(descriptors: readonly RpcTaskDeploymentDescriptor[]): { errors: string[] } | { accepted: number; duplicates: number } {
    const errors: string[] = [];
    const allocationOfSlot = new Map<number, string>();
    descriptors.forEach((d, i) => {
      if (d.slotIndex >= this.numberOfSlots) {
        errors.push(`body.descriptors.${i}.slotIndex ${d.slotIndex} is out of range: TaskManager ${this.taskManagerId} has ${this.numberOfSlots} slots (0..${this.numberOfSlots - 1})`);
      }
      const other = allocationOfSlot.get(d.slotIndex);
      if (other !== undefined && other !== d.allocationId) {
        errors.push(`body.descriptors.${i}.allocationId ${d.allocationId} differs from ${other} for slot ${d.slotIndex} in the same batch (a slot belongs to one allocation)`);
      }
      allocationOfSlot.set(d.slotIndex, d.allocationId);
    });
    if (errors.length > 0) return { errors };

    let accepted = 0;
    let duplicates = 0;
    for (const descriptor of descriptors) {
      if (this.tasks.has(descriptor.executionAttemptId)) {
        duplicates++; // a retried deploy: idempotent by executionAttemptId
        continue;
      }
      const slot = this.slots[descriptor.slotIndex];
      if (slot !== undefined && slot.allocationId !== descriptor.allocationId) {
        // The JobManager is the authority on slots: a deploy under a new
        // allocation means the old attempts are gone on its side.
        for (const id of [...slot.attempts]) this.finishTask(id, 'CANCELED');
      }
      this.startTask(descriptor);
      accepted++;
    }
    return { accepted, duplicates };
  }

  /** Cancels running attempts; unknown ids are fine (idempotent). */
  cancel(executionAttemptIds: readonly string[]): { canceled: number; unknown: number } {
    let canceled = 0;
    let unknown = 0;
    for (const id of executionAttemptIds) {
      if (this.tasks.has(id)) {
        this.finishTask(id, 'CANCELED');
        canceled++;
      } else {
        unknown++;
      }
    }
    return { canceled, unknown };
  }

  // ---------------------------------------------------------------- tasks

  private startTask(descriptor: RpcTaskDeploymentDescriptor): void {
    const task: RunningTask = { descriptor, state: 'DEPLOYING', timers: [] };
    this.tasks.set(descriptor.executionAttemptId, task);
    this.checkpoints.deployed(descriptor);
    let slot = this.slots[descriptor.slotIndex];
    if (slot === undefined) {
      slot = { allocationId: descriptor.allocationId, jobId: descriptor.jobId, attempts: new Set() };
      this.slots[descriptor.slotIndex] = slot;
    }
    slot.attempts.add(descriptor.executionAttemptId);
    const result = taskBehaviour(descriptor.config, descriptor.subtaskIndex, descriptor.attemptNumber);
    this.transition(task, 'INITIALIZING');
    if (!result.ok) {
      this.finishTask(descriptor.executionAttemptId, 'FAILED', { class: 'IllegalConfigurationException', message: result.error });
      return;
    }
    const { initializeMs, finishAfterMs, failAfterMs } = result.behaviour;
    const id = descriptor.executionAttemptId;
    const toRunning = (): void => {
      this.transition(task, 'RUNNING');
      if (failAfterMs !== undefined && (finishAfterMs === undefined || failAfterMs <= finishAfterMs)) {
        task.timers.push(setTimeout(() => this.finishTask(id, 'FAILED', {
          class: 'SyntheticTaskFailure',
          message: `synthetic failure of ${descriptor.vertexName} (${descriptor.subtaskIndex + 1}/${descriptor.parallelism}) attempt ${descriptor.attemptNumber} after sim.fail-after-ms=${failAfterMs} on TaskManager ${this.taskManagerId}`,
        }), failAfterMs));
      } else if (finishAfterMs !== undefined) {
        task.timers.push(setTimeout(() => this.finishTask(id, 'FINISHED'), finishAfterMs));
      }
    };
    if (initializeMs > 0) task.timers.push(setTimeout(toRunning, initializeMs));
    else toRunning();
  }

  private transition(task: RunningTask, state: ReportedState, failure?: TaskFailure): void {
    task.state = state;
    const { jobId, executionAttemptId } = task.descriptor;
    this.enqueue(failure === undefined ? { jobId, executionAttemptId, state } : { jobId, executionAttemptId, state, failure });
  }

  private finishTask(executionAttemptId: string, state: 'FINISHED' | 'CANCELED' | 'FAILED', failure?: TaskFailure): void {
    const task = this.tasks.get(executionAttemptId);
    if (task === undefined) return;
    for (const timer of task.timers) clearTimeout(timer);
    this.tasks.delete(executionAttemptId);
    this.checkpoints.removed(executionAttemptId);
    const slot = this.slots[task.descriptor.slotIndex];
    if (slot !== undefined) {
      slot.attempts.delete(executionAttemptId);
      if (slot.attempts.size === 0) this.slots[task.descriptor.slotIndex] = undefined;
    }
    this.transition(task, state, failure);
  }

  /** Frees every slot without reporting: the JobManager has already written these attempts off. */
  private dropAllTasks(): void {
    for (const task of this.tasks.values()) {
      for (const timer of task.timers) clearTimeout(timer);
      this.checkpoints.removed(task.descriptor.executionAttemptId);
    }
    this.tasks.clear();
    this.slots.fill(undefined);
    this.pendingUpdates = [];
    this.epoch++;
  }

  // ---------------------------------------------------------------- reports

  private enqueue(update: TaskStateUpdate): void {
    this.pendingUpdates.push(update);
    if (this.flushTimer === undefined && !this.reporting) {
      this.flushTimer = setTimeout(() => {
        this.flushTimer = undefined;
        void this.flush();
      }, this.options.reportFlushMs ?? 5);
    }
  }

  private async flush(): Promise<void> {
    if (this.reporting || this.pendingUpdates.length === 0 || this.connectionState !== 'registered') return;
    this.reporting = true;
    const batch = this.pendingUpdates;
    this.pendingUpdates = [];
    const epoch = this.epoch;
    try {
      await this.options.client.reportTaskStates(this.taskManagerId, batch);
    } catch (err) {
      if (epoch === this.epoch && err instanceof JobManagerRpcError && (err.statusCode === undefined || err.statusCode >= 500)) {
        // Not delivered: keep order by putting the batch back in front, retry soon.
        this.pendingUpdates = batch.concat(this.pendingUpdates);
        this.log.warn({ err: err.message, updates: batch.length }, 'task state report not delivered; will retry');
        this.reporting = false;
        // Honour the JobManager's Retry-After (503 when its network buffers are exhausted).
        this.flushTimer ??= setTimeout(() => {
          this.flushTimer = undefined;
          void this.flush();
        }, err.retryAfterMs ?? Math.min(1_000, this.heartbeatIntervalMs));
        return;
      }
      this.log.error({ err: (err as Error).message, updates: batch.length }, 'task state report rejected; dropped');
    }
    this.reporting = false;
    if (this.pendingUpdates.length > 0 && this.flushTimer === undefined) void this.flush();
  }

  // ---------------------------------------------------------------- heartbeats

  private slotReport(): { slots: SlotReportEntry[] } {
    const slots: SlotReportEntry[] = new Array(this.numberOfSlots);
    for (let i = 0; i < this.numberOfSlots; i++) {
      const slot = this.slots[i];
      slots[i] = slot === undefined ? { slotIndex: i } : { slotIndex: i, allocationId: slot.allocationId, jobId: slot.jobId };
    }
    return { slots };
  }

  private registerRequest(): RegisterRequest {
    const { cpuCores, memoryBytes } = this.options;
    return {
      taskManagerId: this.taskManagerId,
      rpcAddress: this.options.rpcAddress,
      numberOfSlots: this.numberOfSlots,
      resources: {
        ...(cpuCores !== undefined ? { cpuCores } : {}),
        ...(memoryBytes !== undefined ? { memoryBytes } : {}),
      },
      hardware: {
        ...(cpuCores !== undefined ? { cpuCores } : {}),
        ...(memoryBytes !== undefined ? { physicalMemory: memoryBytes, freeMemory: memoryBytes, managedMemory: 0 } : {}),
      },
    };
  }

  private async run(): Promise<void> {
    const signal = this.stopController.signal;
    const baseRetryMs = this.options.registrationRetryMs ?? 500;
    let retryMs = baseRetryMs;
    while (!signal.aborted) {
      if (this.connectionState === 'registering') {
        try {
          const response = await this.options.client.register(this.registerRequest());
          this.registrationId = response.registrationId;
          this.heartbeatIntervalMs = response.heartbeatIntervalMs;
          this.heartbeatTimeoutMs = response.heartbeatTimeoutMs;
          this.lastAcknowledgedAt = Date.now();
          this.connectionState = 'registered';
          this.registrations++;
          retryMs = baseRetryMs;
          this.log.info({ registrationId: response.registrationId, heartbeatIntervalMs: response.heartbeatIntervalMs }, 'registered at the JobManager');
          if (this.pendingUpdates.length > 0) void this.flush();
          continue; // heartbeat at once: the JobManager learns the slot report
        } catch (err) {
          if (signal.aborted) break;
          this.log.warn({ err: (err as Error).message, retryInMs: retryMs }, 'registration failed');
          await sleep(retryMs, undefined, { signal }).catch(() => undefined);
          retryMs = Math.min(retryMs * 2, baseRetryMs * 10);
          continue;
        }
      }
      if (this.connectionState !== 'registered') break;
      try {
        const response = await this.options.client.heartbeat(
          this.taskManagerId,
          { registrationId: this.registrationId!, slotReport: this.slotReport() },
          Math.max(this.heartbeatIntervalMs, 1_000),
        );
        if (response.accepted) {
          this.lastAcknowledgedAt = Date.now();
        } else {
          this.log.warn({ reason: response.reason }, 'the JobManager does not know this TaskManager; freeing slots and registering again');
          this.dropAllTasks();
          this.connectionState = 'registering';
          continue;
        }
      } catch (err) {
        if (signal.aborted) break;
        const silentMs = Date.now() - this.lastAcknowledgedAt;
        if (silentMs > this.heartbeatTimeoutMs) {
          this.log.warn({ err: (err as Error).message, silentMs }, 'JobManager lost (no heartbeat answer within the heartbeat timeout); freeing slots and registering again');
          this.dropAllTasks();
          this.connectionState = 'registering';
          continue;
        }
        this.log.warn({ err: (err as Error).message }, 'heartbeat failed');
      }
      await sleep(this.heartbeatIntervalMs, undefined, { signal }).catch(() => undefined);
    }
  }
}
