// ResourceManager: the registry of TaskManagers, their slots and heartbeats.
// Transport-agnostic and clock-driven; see ./types.ts for the contract.
import type { Clock } from './clock.js';
import { RegistrationError } from './errors.js';
import { randomHexId } from './ids.js';
import type {
  HeartbeatResponse,
  PendingSlotRequest,
  RegisterTaskManagerRequest,
  RegistrationResponse,
  ResourceManagerApi,
  ResourceManagerOptions,
  ResourceProfileInfo,
  SlotAllocation,
  SlotReport,
  SlotTotals,
  TaskManagerDetails,
  TaskManagerHardware,
  TaskManagerInfo,
  TaskManagerLostListener,
  TaskManagerRegisteredListener,
} from './types.js';

// Registration limits: the RPC schema (app/http/rpc/protocol.ts) imports these, so both refuse the same registrations.
/** Longest TaskManager id accepted. */
export const MAX_TASK_MANAGER_ID_LENGTH = 256;
/** Characters a TaskManager id may use (a JSON Schema `pattern`, also used here). */
export const TASK_MANAGER_ID_PATTERN = '^[A-Za-z0-9._:-]+$';
export const MAX_SLOTS_PER_TASK_MANAGER = 100_000;
const TASK_MANAGER_ID = new RegExp(TASK_MANAGER_ID_PATTERN);

interface TaskManagerEntry {
  readonly id: string;
  readonly registrationId: string;
  readonly rpcAddress: string;
  readonly dataPort: number;
  readonly numberOfSlots: number;
  readonly cpuCores: number;
  readonly memoryBytes: number;
  readonly hardware: TaskManagerHardware;
  readonly registeredAt: number;
  lastHeartbeat: number;
  /** allocation per slot index; undefined = free */
  readonly slots: (SlotAllocation | undefined)[];
  freeSlots: number;
}

interface QueuedRequest {
  readonly jobId: string;
  readonly count: number;
  readonly onFulfilled: (slots: SlotAllocation[]) => void;
  done: boolean;
}

export class ResourceManager implements ResourceManagerApi {
  private readonly taskManagers = new Map<string, TaskManagerEntry>();
  private readonly allocations = new Map<string, SlotAllocation>();
  private readonly lostListeners = new Set<TaskManagerLostListener>();
  private readonly registeredListeners = new Set<TaskManagerRegisteredListener>();
  private queue: QueuedRequest[] = [];
  private slotsTotal = 0;
  private slotsFree = 0;
  private fulfilling = false;
  private fulfillAgain = false;

  constructor(
    private readonly clock: Clock,
    private readonly options: ResourceManagerOptions,
  ) {
    if (!(options.heartbeatIntervalMs > 0) || !(options.heartbeatTimeoutMs > 0)) {
      throw new RangeError('heartbeat.interval and heartbeat.timeout must be positive durations');
    }
  }

  registerTaskManager(request: RegisterTaskManagerRequest): RegistrationResponse {
    const r = validateRegistration(request);
    const previous = this.taskManagers.get(r.taskManagerId);
    if (previous) this.removeTaskManager(previous, `TaskManager ${previous.id} re-registered (new registration replaces the old one; its tasks are lost)`);
    const now = this.clock.now();
    const memoryBytes = r.resources.memoryBytes ?? 0;
    const cpuCores = r.resources.cpuCores ?? 0;
    const entry: TaskManagerEntry = {
      id: r.taskManagerId,
      registrationId: randomHexId(),
      rpcAddress: r.rpcAddress,
      dataPort: r.dataPort ?? -1,
      numberOfSlots: r.numberOfSlots,
      cpuCores,
      memoryBytes,
      hardware: {
        cpuCores: r.hardware?.cpuCores ?? cpuCores,
        physicalMemory: r.hardware?.physicalMemory ?? memoryBytes,
        freeMemory: r.hardware?.freeMemory ?? memoryBytes,
        managedMemory: r.hardware?.managedMemory ?? 0,
      },
      registeredAt: now,
      lastHeartbeat: now,
      slots: new Array<SlotAllocation | undefined>(r.numberOfSlots).fill(undefined),
      freeSlots: r.numberOfSlots,
    };
    this.taskManagers.set(entry.id, entry);
    this.slotsTotal += entry.numberOfSlots;
    this.slotsFree += entry.numberOfSlots;
    for (const l of this.registeredListeners) l(entry.id, entry.rpcAddress);
    this.fulfillRequests();
    return {
      registrationId: entry.registrationId,
      heartbeatIntervalMs: this.options.heartbeatIntervalMs,
      heartbeatTimeoutMs: this.options.heartbeatTimeoutMs,
    };
  }

  heartbeatFromTaskManager(taskManagerId: string, registrationId: string, _slotReport: SlotReport): HeartbeatResponse {
    const entry = this.taskManagers.get(taskManagerId);
    if (!entry || entry.registrationId !== registrationId) return { accepted: false, reason: 'unknown-taskmanager' };
    entry.lastHeartbeat = this.clock.now();
    // The slot report is not reconciled: the JobManager's allocation table is
    // authoritative, and tasks it does not know are refused on state update.
    return { accepted: true };
  }

  disconnectTaskManager(taskManagerId: string, cause: string): boolean {
    const entry = this.taskManagers.get(taskManagerId);
    if (!entry) return false;
    this.removeTaskManager(entry, `TaskManager ${taskManagerId} disconnected: ${cause}`);
    return true;
  }

  checkHeartbeats(): string[] {
    const now = this.clock.now();
    const lost: TaskManagerEntry[] = [];
    for (const entry of this.taskManagers.values()) {
      if (now - entry.lastHeartbeat > this.options.heartbeatTimeoutMs) lost.push(entry);
    }
    for (const entry of lost) {
      this.removeTaskManager(
        entry,
        `Heartbeat of TaskManager with id ${entry.id} (${entry.rpcAddress}) timed out: no heartbeat for ${now - entry.lastHeartbeat} ms (heartbeat.timeout ${this.options.heartbeatTimeoutMs} ms)`,
      );
    }
    return lost.map((e) => e.id);
  }

  onTaskManagerLost(listener: TaskManagerLostListener): () => void {
    this.lostListeners.add(listener);
    return () => this.lostListeners.delete(listener);
  }

  onTaskManagerRegistered(listener: TaskManagerRegisteredListener): () => void {
    this.registeredListeners.add(listener);
    return () => this.registeredListeners.delete(listener);
  }

  listTaskManagers(): TaskManagerInfo[] {
    return [...this.taskManagers.values()].map((e) => this.info(e));
  }

  getTaskManager(taskManagerId: string): TaskManagerDetails | undefined {
    const e = this.taskManagers.get(taskManagerId);
    if (!e) return undefined;
    const allocatedSlots: { jobId: string; slotIndex: number; allocationId: string }[] = [];
    for (const a of e.slots) if (a) allocatedSlots.push({ jobId: a.jobId, slotIndex: a.slotIndex, allocationId: a.allocationId });
    return { ...this.info(e), allocatedSlots, millisSinceLastHeartbeat: this.clock.now() - e.lastHeartbeat, registrationTime: e.registeredAt };
  }

  rpcAddressOf(taskManagerId: string): string | undefined {
    return this.taskManagers.get(taskManagerId)?.rpcAddress;
  }

  slotTotals(): SlotTotals {
    return { taskManagers: this.taskManagers.size, slotsTotal: this.slotsTotal, slotsAvailable: this.slotsFree };
  }

  requestSlots(jobId: string, count: number, onFulfilled: (slots: SlotAllocation[]) => void): PendingSlotRequest {
    if (!Number.isInteger(count) || count < 0) throw new RangeError(`slot count must be a non-negative integer, got ${count}`);
    const request: QueuedRequest = { jobId, count, onFulfilled, done: false };
    this.queue.push(request);
    this.fulfillRequests();
    return {
      cancel: () => {
        if (request.done) return;
        request.done = true;
        this.queue = this.queue.filter((q) => q !== request);
      },
    };
  }

  releaseSlots(allocationIds: readonly string[]): void {
    let released = 0;
    for (const id of allocationIds) {
      const a = this.allocations.get(id);
      if (!a) continue;
      this.allocations.delete(id);
      const tm = this.taskManagers.get(a.taskManagerId);
      if (tm && tm.slots[a.slotIndex] === a) {
        tm.slots[a.slotIndex] = undefined;
        tm.freeSlots++;
        this.slotsFree++;
        released++;
      }
    }
    if (released > 0) this.fulfillRequests();
  }

  isAllocationAlive(allocationId: string): boolean {
    return this.allocations.has(allocationId);
  }

  /** Number of waiting slot requests (for metrics and tests). */
  pendingRequests(): number {
    return this.queue.length;
  }

  private removeTaskManager(entry: TaskManagerEntry, cause: string): void {
    if (this.taskManagers.get(entry.id) !== entry) return;
    this.taskManagers.delete(entry.id);
    for (const a of entry.slots) if (a) this.allocations.delete(a.allocationId);
    this.slotsTotal -= entry.numberOfSlots;
    this.slotsFree -= entry.freeSlots;
    for (const l of this.lostListeners) l(entry.id, cause);
  }

  // Gang allocation, FIFO with first-fit: a request is served only whole, so
  // two jobs waiting for slots can never each hold half of what they need.
  private fulfillRequests(): void {
    if (this.fulfilling) {
      this.fulfillAgain = true;
      return;
    }
    this.fulfilling = true;
    try {
      do {
        this.fulfillAgain = false;
        for (const request of this.queue) {
          if (request.done || request.count > this.slotsFree) continue;
          request.done = true;
          const slots = this.allocate(request.jobId, request.count);
          this.queue = this.queue.filter((q) => q !== request);
          request.onFulfilled(slots);
          this.fulfillAgain = true; // the callback may have changed the queue
          break;
        }
      } while (this.fulfillAgain);
    } finally {
      this.fulfilling = false;
    }
  }

  private allocate(jobId: string, count: number): SlotAllocation[] {
    const out: SlotAllocation[] = [];
    // Fill TaskManagers in registration order: deployments batch per
    // TaskManager, so fewer TaskManagers per job means fewer RPCs.
    for (const tm of this.taskManagers.values()) {
      if (out.length === count) break;
      if (tm.freeSlots === 0) continue;
      for (let i = 0; i < tm.slots.length && out.length < count; i++) {
        if (tm.slots[i]) continue;
        const a: SlotAllocation = { allocationId: randomHexId(), taskManagerId: tm.id, slotIndex: i, jobId };
        tm.slots[i] = a;
        tm.freeSlots--;
        this.slotsFree--;
        this.allocations.set(a.allocationId, a);
        out.push(a);
      }
    }
    return out;
  }

  private info(e: TaskManagerEntry): TaskManagerInfo {
    const share = (n: number): number => (e.numberOfSlots === 0 ? 0 : Math.floor((n * e.freeSlots) / e.numberOfSlots));
    const total: ResourceProfileInfo = {
      cpuCores: e.cpuCores,
      taskHeapMemory: e.memoryBytes,
      taskOffHeapMemory: 0,
      managedMemory: 0,
      networkMemory: 0,
      extendedResources: {},
    };
    return {
      id: e.id,
      path: e.rpcAddress,
      dataPort: e.dataPort,
      jmxPort: -1,
      timeSinceLastHeartbeat: e.lastHeartbeat,
      slotsNumber: e.numberOfSlots,
      freeSlots: e.freeSlots,
      totalResource: total,
      freeResource: { ...total, cpuCores: e.numberOfSlots === 0 ? 0 : (e.cpuCores * e.freeSlots) / e.numberOfSlots, taskHeapMemory: share(e.memoryBytes) },
      hardware: e.hardware,
      memoryConfiguration: {
        frameworkHeap: 0,
        taskHeap: e.memoryBytes,
        frameworkOffHeap: 0,
        taskOffHeap: 0,
        networkMemory: 0,
        managedMemory: 0,
        jvmMetaspace: 0,
        jvmOverhead: 0,
        totalFlinkMemory: e.memoryBytes,
        totalProcessMemory: e.memoryBytes,
      },
      blocked: false,
    };
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function nonNegative(v: unknown): boolean {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0;
}

/** Checks a registration from the wire; throws RegistrationError naming each bad field. */
export function validateRegistration(body: unknown): RegisterTaskManagerRequest {
  const errors: string[] = [];
  if (!isRecord(body)) throw new RegistrationError(['body: must be a JSON object']);
  const { taskManagerId, rpcAddress, dataPort, numberOfSlots, resources, hardware } = body;
  if (typeof taskManagerId !== 'string' || taskManagerId.length > MAX_TASK_MANAGER_ID_LENGTH || !TASK_MANAGER_ID.test(taskManagerId)) {
    errors.push(`taskManagerId: must be a string of 1..${MAX_TASK_MANAGER_ID_LENGTH} characters from [A-Za-z0-9._:-]`);
  }
  if (typeof rpcAddress !== 'string' || !/^https?:\/\/[^\s/]+(\/[^\s]*)?$/.test(rpcAddress)) {
    errors.push('rpcAddress: must be an http(s) URL such as http://127.0.0.1:40123');
  }
  if (dataPort !== undefined && !(Number.isInteger(dataPort) && (dataPort as number) >= -1 && (dataPort as number) <= 65535)) {
    errors.push('dataPort: must be an integer port 0..65535 (or -1)');
  }
  if (!(Number.isInteger(numberOfSlots) && (numberOfSlots as number) >= 1 && (numberOfSlots as number) <= MAX_SLOTS_PER_TASK_MANAGER)) {
    errors.push(`numberOfSlots: must be an integer 1..${MAX_SLOTS_PER_TASK_MANAGER}`);
  }
  if (resources === undefined || !isRecord(resources)) {
    errors.push('resources: must be an object {cpuCores?, memoryBytes?}');
  } else {
    if (resources.cpuCores !== undefined && !nonNegative(resources.cpuCores)) errors.push('resources.cpuCores: must be a number >= 0');
    if (resources.memoryBytes !== undefined && !nonNegative(resources.memoryBytes)) errors.push('resources.memoryBytes: must be a number >= 0');
  }
  if (hardware !== undefined) {
    if (!isRecord(hardware)) errors.push('hardware: must be an object {cpuCores?, physicalMemory?, freeMemory?, managedMemory?}');
    else {
      for (const f of ['cpuCores', 'physicalMemory', 'freeMemory', 'managedMemory'] as const) {
        if (hardware[f] !== undefined && !nonNegative(hardware[f])) errors.push(`hardware.${f}: must be a number >= 0`);
      }
    }
  }
  if (errors.length > 0) throw new RegistrationError(errors);
  return body as unknown as RegisterTaskManagerRequest;
}
