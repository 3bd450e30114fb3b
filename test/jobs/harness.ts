// Test harness for the domain core: a manual clock, a real ResourceManager,
// a fake TaskExecutorGateway and a Dispatcher. No sockets.
import { ManualClock } from '../../app/cluster/clock.js';
import { ResourceManager } from '../../app/cluster/resource-manager.js';
import type { RegistrationResponse } from '../../app/cluster/types.js';
import { Dispatcher } from '../../app/jobs/dispatcher.js';
import type { JobManagerJobsOptions, TaskDeploymentDescriptor, TaskExecutorGateway } from '../../app/jobs/types.js';

export class FakeGateway implements TaskExecutorGateway {
  readonly deployCalls: { taskManagerId: string; descriptors: readonly TaskDeploymentDescriptor[] }[] = [];
  readonly cancelCalls: { taskManagerId: string; ids: readonly string[] }[] = [];
  /** TaskManagers whose deploy calls reject. */
  readonly unreachable = new Set<string>();

  async deployTasks(taskManagerId: string, descriptors: readonly TaskDeploymentDescriptor[]): Promise<void> {
    this.deployCalls.push({ taskManagerId, descriptors });
    if (this.unreachable.has(taskManagerId)) throw new Error(`connect ECONNREFUSED (${taskManagerId})`);
  }

  async cancelTasks(taskManagerId: string, ids: readonly string[]): Promise<void> {
    this.cancelCalls.push({ taskManagerId, ids });
    if (this.unreachable.has(taskManagerId)) throw new Error(`connect ECONNREFUSED (${taskManagerId})`);
  }

  /** Every descriptor deployed so far (latest attempts last). */
  descriptors(): TaskDeploymentDescriptor[] {
    return this.deployCalls.flatMap((c) => c.descriptors);
  }
}

export const DEFAULT_OPTIONS: JobManagerJobsOptions = {
  slotRequestTimeoutMs: 300_000,
  defaultRestartStrategy: { type: 'fixed-delay', attempts: 3, delay: 1000 },
  archivedJobsMax: 100,
  attemptHistorySize: 4,
  exceptionHistorySize: 16,
};

export interface Harness {
  clock: ManualClock;
  rm: ResourceManager;
  gateway: FakeGateway;
  dispatcher: Dispatcher;
  registrations: Map<string, RegistrationResponse>;
  addTaskManager(id: string, slots: number): RegistrationResponse;
  /** Lets queued microtasks and promise callbacks run. */
  flush(): Promise<void>;
  /** Reports the given state for every descriptor of the job's current attempts that the gateway saw. */
  report(jobId: string, state: 'INITIALIZING' | 'RUNNING' | 'FINISHED' | 'FAILED' | 'CANCELED', filter?: (d: TaskDeploymentDescriptor) => boolean): number;
  /** Heartbeats every registered TaskManager. */
  heartbeatAll(): void;
}

export function harness(options: Partial<JobManagerJobsOptions> = {}, heartbeat = { heartbeatIntervalMs: 10_000, heartbeatTimeoutMs: 50_000 }): Harness {
  const clock = new ManualClock();
  const rm = new ResourceManager(clock, heartbeat);
  const gateway = new FakeGateway();
  const dispatcher = new Dispatcher({ clock, resourceManager: rm, gateway, options: { ...DEFAULT_OPTIONS, ...options } });
  const registrations = new Map<string, RegistrationResponse>();
  const h: Harness = {
    clock,
    rm,
    gateway,
    dispatcher,
    registrations,
    addTaskManager(id, slots) {
      const r = rm.registerTaskManager({ taskManagerId: id, rpcAddress: `http://127.0.0.1:${40000 + registrations.size}`, numberOfSlots: slots, resources: { cpuCores: 2, memoryBytes: 1 << 30 } });
      registrations.set(id, r);
      return r;
    },
    async flush() {
      for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
    },
    report(jobId, state, filter) {
      const jm = dispatcher.runningJobMaster(jobId);
      if (!jm) return 0;
      let n = 0;
      for (const d of gateway.descriptors()) {
        if (d.jobId !== jobId || !jm.lookupAttempt(d.executionAttemptId)) continue;
        if (filter && !filter(d)) continue;
        const r = dispatcher.updateTaskExecutionState({ jobId, executionAttemptId: d.executionAttemptId, state, ...(state === 'FAILED' ? { failure: { class: 'java.lang.RuntimeException', message: 'boom' } } : {}) });
        if (r.applied) n++;
      }
      return n;
    },
    heartbeatAll() {
      for (const [id, r] of registrations) rm.heartbeatFromTaskManager(id, r.registrationId, { slots: [] });
    },
  };
  return h;
}

export const THREE_VERTEX_JOB = {
  name: 'example',
  vertices: [
    { id: 'source', name: 'Source', parallelism: 4 },
    { id: 'map', name: 'Map', parallelism: 4, config: { 'sim.fail-after-ms': '100' } },
    { id: 'sink', name: 'Sink', parallelism: 2 },
  ],
  edges: [
    { source: 'source', target: 'map', distribution: 'POINTWISE' },
    { source: 'map', target: 'sink', distribution: 'ALL_TO_ALL' },
  ],
  restartStrategy: { type: 'fixed-delay', attempts: 2, delay: 1000 },
};
