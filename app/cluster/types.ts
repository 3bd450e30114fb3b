// CONTRACT of the ResourceManager (app/cluster). Transport-agnostic: the RPC
// adapter (app/http/rpc) and the REST adapter (app/http/rest) code against
// these types; the domain core never imports Fastify or undici.
//
// Time: everything is driven by an injected Clock (see ./clock.ts) and by
// explicit calls (checkHeartbeats() is run on a timer by the composition root).

/** What a TaskManager declares about itself when registering. */
export interface TaskManagerResources {
  readonly cpuCores?: number;
  readonly memoryBytes?: number;
}

/** Flink's `hardware` block of /taskmanagers/:id. All optional on input. */
export interface TaskManagerHardware {
  readonly cpuCores: number;
  readonly physicalMemory: number;
  readonly freeMemory: number;
  readonly managedMemory: number;
}

export interface RegisterTaskManagerRequest {
  /** The TaskManager's own stable identity (1..128 chars of [A-Za-z0-9._:-]). */
  readonly taskManagerId: string;
  /** Base URL the JobManager calls back on, e.g. `http://127.0.0.1:40123`. */
  readonly rpcAddress: string;
  readonly dataPort?: number;
  /** 1..100000 */
  readonly numberOfSlots: number;
  readonly resources: TaskManagerResources;
  readonly hardware?: Partial<TaskManagerHardware>;
}

export interface RegistrationResponse {
  /** 32 lowercase hex; must accompany every heartbeat of this registration. */
  readonly registrationId: string;
  readonly heartbeatIntervalMs: number;
  readonly heartbeatTimeoutMs: number;
}

/** One slot as the TaskManager sees it (allocationId/jobId absent = free). */
export interface SlotStatus {
  readonly slotIndex: number;
  readonly allocationId?: string;
  readonly jobId?: string;
}

export interface SlotReport {
  readonly slots: readonly SlotStatus[];
}

export type HeartbeatResponse =
  | { readonly accepted: true }
  /** The TaskManager must register again (JobManager restarted, or it was declared lost). */
  | { readonly accepted: false; readonly reason: 'unknown-taskmanager' };

/** A slot handed to a job. Slot sharing: subtask i of every vertex runs in the job's slot i. */
export interface SlotAllocation {
  /** 32 lowercase hex. */
  readonly allocationId: string;
  readonly taskManagerId: string;
  readonly slotIndex: number;
  readonly jobId: string;
}

/** Flink /taskmanagers item shape (field names as Flink's REST API v1). */
export interface TaskManagerInfo {
  readonly id: string;
  /** The RPC address (Flink shows its Akka/Pekko path here). */
  readonly path: string;
  readonly dataPort: number;
  readonly jmxPort: number;
  /**
   * As in Flink: despite the name, this is the epoch-millisecond timestamp of
   * the last heartbeat (Flink's REST API returns `getLastHeartbeat()` here).
   */
  readonly timeSinceLastHeartbeat: number;
  readonly slotsNumber: number;
  readonly freeSlots: number;
  readonly totalResource: ResourceProfileInfo;
  readonly freeResource: ResourceProfileInfo;
  readonly hardware: TaskManagerHardware;
  readonly memoryConfiguration: TaskManagerMemoryConfiguration;
  readonly blocked: boolean;
}

/** Flink /taskmanagers/:id: the list item plus the allocated slots. */
export interface TaskManagerDetails extends TaskManagerInfo {
  readonly allocatedSlots: readonly { readonly jobId: string; readonly slotIndex: number; readonly allocationId: string }[];
  /** Milliseconds since the last heartbeat (our addition, the honest value). */
  readonly millisSinceLastHeartbeat: number;
  readonly registrationTime: number;
}

export interface ResourceProfileInfo {
  readonly cpuCores: number;
  readonly taskHeapMemory: number;
  readonly taskOffHeapMemory: number;
  readonly managedMemory: number;
  readonly networkMemory: number;
  readonly extendedResources: Readonly<Record<string, number>>;
}

export interface TaskManagerMemoryConfiguration {
  readonly frameworkHeap: number;
  readonly taskHeap: number;
  readonly frameworkOffHeap: number;
  readonly taskOffHeap: number;
  readonly networkMemory: number;
  readonly managedMemory: number;
  readonly jvmMetaspace: number;
  readonly jvmOverhead: number;
  readonly totalFlinkMemory: number;
  readonly totalProcessMemory: number;
}

export interface SlotTotals {
  readonly taskManagers: number;
  readonly slotsTotal: number;
  readonly slotsAvailable: number;
}

export type TaskManagerLostListener = (taskManagerId: string, cause: string) => void;
export type TaskManagerRegisteredListener = (taskManagerId: string, rpcAddress: string) => void;

/** A waiting request for slots (gang: fulfilled all at once, FIFO among requests). */
export interface PendingSlotRequest {
  /** Withdraw the request (no-op once fulfilled). */
  cancel(): void;
}

export interface ResourceManagerOptions {
  readonly heartbeatIntervalMs: number;
  readonly heartbeatTimeoutMs: number;
}

/** What the transports and the Dispatcher/JobMaster use. */
export interface ResourceManagerApi {
  // --- inbound from TaskManagers (RPC adapter) ---
  /** Throws RegistrationError (field named) for a malformed request. Re-registration of a known id replaces it (old one is lost). */
  registerTaskManager(request: RegisterTaskManagerRequest): RegistrationResponse;
  heartbeatFromTaskManager(taskManagerId: string, registrationId: string, slotReport: SlotReport): HeartbeatResponse;
  /** Graceful goodbye of a TaskManager (treated as a loss for its tasks). Returns false if unknown. */
  disconnectTaskManager(taskManagerId: string, cause: string): boolean;

  // --- run on a timer by the composition root ---
  /** Declares TaskManagers lost whose last heartbeat is older than heartbeat.timeout. Returns their ids. */
  checkHeartbeats(): string[];

  // --- listeners (return an unsubscribe function) ---
  onTaskManagerLost(listener: TaskManagerLostListener): () => void;
  onTaskManagerRegistered(listener: TaskManagerRegisteredListener): () => void;

  // --- queries (REST adapter, RPC client) ---
  listTaskManagers(): TaskManagerInfo[];
  getTaskManager(taskManagerId: string): TaskManagerDetails | undefined;
  /** Where to call a TaskManager (the gateway implementation uses this). */
  rpcAddressOf(taskManagerId: string): string | undefined;
  slotTotals(): SlotTotals;

  // --- slots (used by JobMasters) ---
  /** Calls `onFulfilled` (synchronously if possible) once `count` slots are free for the job. */
  requestSlots(jobId: string, count: number, onFulfilled: (slots: SlotAllocation[]) => void): PendingSlotRequest;
  /** Gives slots back; unknown/stale allocation ids are ignored. */
  releaseSlots(allocationIds: readonly string[]): void;
  /** True while the slot's TaskManager is registered and the allocation is current. */
  isAllocationAlive(allocationId: string): boolean;
}
