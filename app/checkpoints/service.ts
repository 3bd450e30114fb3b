// CheckpointService: the checkpoint side of every job. It gives each
// JobMaster a CheckpointCoordinator and binds them (start when all tasks run,
// stop when they no longer do, fail over through the restart strategy, restore
// redeployed tasks from the latest completed checkpoint), persists submitted
// JobGraphs and job status to the storage directory, and recovers them at
// boot. The RPC adapter hands it acknowledgement batches; the REST adapter
// reads statistics from it. No transport code here.
import type { Clock } from '../cluster/clock.js';
import type { JobMasterApi, JobStatus } from '../jobs/types.js';
import { CheckpointCoordinator, type AcknowledgeResult, type CheckpointTask, type CheckpointTaskGateway, type SubtaskAcknowledgement, type SubtaskDecline } from './coordinator.js';
import { resolveCheckpointSettings, type CheckpointDefaults, type JobCheckpointingConfig } from './settings.js';
import type { FileStateStore } from './state-store.js';
import { silentLogger, TERMINAL_JOB_STATUSES, type CheckpointRecovery, type DomainLogger, type StoredJob, type StoredJobs } from './types.js';

/** One acknowledgement as it arrives over RPC (the wire protocol's shape). */
export interface WireCheckpointAck {
  readonly jobId: string;
  readonly checkpointId: number;
  readonly executionAttemptId: string;
  readonly stateSizeBytes?: number;
  /** Opaque handle of the subtask's state, handed back in restoreCheckpoint on redeployment. */
  readonly stateHandle?: string;
  /** Older simulators put the handle here as `stateHandle`. */
  readonly metadata?: Readonly<Record<string, string>>;
}

export interface WireCheckpointDecline {
  readonly jobId: string;
  readonly checkpointId: number;
  readonly executionAttemptId: string;
  readonly reason: string;
}

export interface CheckpointServiceDeps {
  readonly stateStore: FileStateStore;
  readonly clock: Clock;
  readonly gateway: CheckpointTaskGateway;
  readonly defaults: CheckpointDefaults;
  readonly log?: DomainLogger;
  /**
   * Keeps terminal jobs' checkpoint statistics within a byte budget (the
   * memory plan's checkpoint-stats cache): called once when a job is terminal
   * with the JSON size of its statistics; `drop` forgets them (on eviction).
   * Default: the 100 most recent terminal jobs are kept.
   */
  readonly retainTerminalStats?: (jobId: string, statsJsonBytes: number, drop: () => void) => void;
}

/** A job found in the storage directory, ready for the Dispatcher to recover. */
export interface RecoverableJob extends StoredJob {
  readonly recovery: CheckpointRecovery;
}

interface JobEntry {
  readonly jobId: string;
  readonly coordinator: CheckpointCoordinator;
  jobMaster: JobMasterApi | undefined;
  unsubscribe: (() => void)[];
  /** Checkpoint the current deployment was restored from (recorded once all tasks run). */
  restoredFrom: number | undefined;
  name: string;
  startTime: number;
  /** Serialises this job's storage writes (status after JobGraph, in order). */
  writes: Promise<void>;
  persisted: Promise<void>;
}

export class CheckpointService {
  private readonly deps: CheckpointServiceDeps;
  private readonly log: DomainLogger;
  private readonly jobs = new Map<string, JobEntry>();
  /** Jobs whose entry was bound to a JobMaster once (terminal ones stay here). */
  private readonly bound = new Set<string>();

  constructor(deps: CheckpointServiceDeps) {
    this.deps = deps;
    this.log = deps.log ?? silentLogger;
  }

  private createEntry(jobId: string, checkpointing: JobCheckpointingConfig | undefined, fresh: boolean): JobEntry {
    const settings = resolveCheckpointSettings(checkpointing, this.deps.defaults);
    const store = this.deps.stateStore.checkpointStore(jobId, settings.retained);
    if (fresh) store.markFresh();
    let entry: JobEntry | undefined;
    const coordinator = new CheckpointCoordinator({
      jobId,
      settings,
      clock: this.deps.clock,
      gateway: this.deps.gateway,
      store,
      log: this.log,
      onFailover: (reason) => {
        // Through the restart strategy, like any task failure.
        entry?.jobMaster?.failGlobally({ class: 'org.apache.flink.runtime.checkpoint.CheckpointException', message: reason });
      },
    });
    entry = {
      jobId,
      coordinator,
      jobMaster: undefined,
      unsubscribe: [],
      restoredFrom: undefined,
      name: '',
      startTime: this.deps.clock.now(),
      writes: Promise.resolve(),
      persisted: Promise.resolve(),
    };
    this.jobs.set(jobId, entry);
    return entry;
  }

  private enqueueWrite(entry: JobEntry, what: string, write: () => Promise<void>): Promise<void> {
    const p = entry.writes.then(write).catch((err: unknown) => {
      this.log.error({ jobId: entry.jobId, err: err instanceof Error ? err.message : String(err) }, `could not persist ${what}`);
      throw err;
    });
    entry.writes = p.catch(() => undefined);
    return p;
  }

  private bind(entry: JobEntry, jm: JobMasterApi): void {
    this.bound.add(entry.jobId);
    entry.jobMaster = jm;
    entry.name = jm.jobGraph.name;
    const c = entry.coordinator;
    jm.setRestoreCheckpoint((jobVertexId, subtaskIndex) => {
      const restore = c.restoreFor(jobVertexId, subtaskIndex);
      if (restore) entry.restoredFrom = restore.checkpointId;
      return restore;
    });
    entry.unsubscribe.push(
      jm.onAllTasksRunning(() => {
        if (entry.restoredFrom !== undefined) {
          c.recordRestored(entry.restoredFrom);
          this.log.info({ jobId: entry.jobId, checkpointId: entry.restoredFrom }, 'job restored from checkpoint');
          entry.restoredFrom = undefined;
        }
        c.start(collectTasks(jm));
      }),
      jm.onTasksNoLongerRunning(() => c.stop('tasks are no longer all running')),
      jm.onStatusChange((status, timestamp) => this.onStatus(entry, status, timestamp)),
    );
  }

  private onStatus(entry: JobEntry, status: JobStatus, timestamp: number): void {
    const terminal = TERMINAL_JOB_STATUSES.has(status);
    if (terminal) entry.coordinator.stop(`job ${status}`);
    const record = {
      jobId: entry.jobId,
      name: entry.name,
      status,
      startTime: entry.startTime,
      endTime: terminal ? timestamp : -1,
      updatedAt: timestamp,
    };
    void this.enqueueWrite(entry, `status ${status}`, () => this.deps.stateStore.putJobStatus(record)).catch(() => undefined);
    if (terminal) {
      for (const u of entry.unsubscribe.splice(0)) u();
      entry.jobMaster = undefined;
      // Statistics stay readable until the entry is dropped with the archive bound.
      if (this.deps.retainTerminalStats) this.retainTerminalStats(entry, this.deps.retainTerminalStats);
      else this.pruneTerminal();
    }
  }

  private retainTerminalStats(entry: JobEntry, retain: NonNullable<CheckpointServiceDeps['retainTerminalStats']>): void {
    const bytes = Buffer.byteLength(JSON.stringify(entry.coordinator.stats.snapshot()));
    retain(entry.jobId, bytes, () => {
      if (this.jobs.get(entry.jobId) !== entry || entry.jobMaster !== undefined || entry.coordinator.isRunning()) return;
      this.jobs.delete(entry.jobId);
      this.bound.delete(entry.jobId);
    });
  }

  private pruneTerminal(): void {
    // Keep terminal entries for their checkpoint statistics, bounded like the Dispatcher's archive.
    const terminal = [...this.jobs.values()].filter((e) => this.bound.has(e.jobId) && e.jobMaster === undefined && !e.coordinator.isRunning());
    const max = 100;
    for (const e of terminal.slice(0, Math.max(0, terminal.length - max))) {
      this.jobs.delete(e.jobId);
      this.bound.delete(e.jobId);
    }
  }

  // ------------------------------------------------------------------ job lifecycle hooks

  /**
   * A JobMaster was created for a new submission (before it starts). Starts
   * persisting its JobGraph; whenJobPersisted() tells when that is durable.
   */
  jobSubmitted(jm: JobMasterApi): void {
    const entry = this.createEntry(jm.jobId, jm.jobGraph.checkpointing, true);
    this.bind(entry, jm);
    entry.persisted = this.enqueueWrite(entry, 'the JobGraph', () => this.deps.stateStore.putJobGraph(jm.jobId, jm.jobGraph));
  }

  /** Resolves when the job's JobGraph is durable; rejects with the storage error. */
  whenJobPersisted(jobId: string): Promise<void> {
    return this.jobs.get(jobId)?.persisted ?? Promise.resolve();
  }

  /**
   * At boot, before the Dispatcher recovers anything: reads the storage
   * directory and each non-terminal job's checkpoints and counter.
   */
  async loadRecoverableJobs(): Promise<{ active: RecoverableJob[]; archived: readonly StoredJob[]; problems: StoredJobs['problems'] }> {
    const stored = await this.deps.stateStore.recoverJobs();
    const active: RecoverableJob[] = [];
    for (const job of stored.active) {
      const checkpointing = (job.jobGraph as { checkpointing?: JobCheckpointingConfig } | null)?.checkpointing;
      const entry = this.createEntry(job.jobId, checkpointing, false);
      if (job.status) entry.startTime = job.status.startTime;
      const recovery = await entry.coordinator.initialize();
      active.push({ ...job, recovery });
    }
    return { active, archived: stored.archived, problems: stored.problems };
  }

  /** The Dispatcher created the JobMaster of a recovered job (before it starts). */
  jobRecovered(jm: JobMasterApi): void {
    let entry = this.jobs.get(jm.jobId);
    if (!entry) entry = this.createEntry(jm.jobId, jm.jobGraph.checkpointing, false);
    this.bind(entry, jm);
  }

  /** A recovered job could not be started again (e.g. its JobGraph no longer validates). */
  jobRecoveryFailed(jobId: string): void {
    this.jobs.get(jobId)?.coordinator.stop('recovery failed');
    this.jobs.delete(jobId);
  }

  /**
   * Any JobMaster the Dispatcher created, before it schedules (the composition
   * root calls this from the CREATED status event): a recovered job prepared by
   * loadRecoverableJobs() is bound to its recovered coordinator, anything else
   * is a new submission.
   */
  jobCreated(jm: JobMasterApi): void {
    const entry = this.jobs.get(jm.jobId);
    if (entry && entry.jobMaster === undefined && !this.bound.has(jm.jobId)) this.jobRecovered(jm);
    else if (!entry) this.jobSubmitted(jm);
  }

  coordinator(jobId: string): CheckpointCoordinator | undefined {
    return this.jobs.get(jobId)?.coordinator;
  }

  // ------------------------------------------------------------------ RPC inbound

  /** A batch of acknowledgements from one TaskManager (any number of jobs/checkpoints). */
  acknowledgeCheckpoints(request: { readonly taskManagerId: string; readonly acks: readonly WireCheckpointAck[] }): AcknowledgeResult {
    return this.perJob(request.acks, (c, acks) =>
      c.acknowledge(
        acks.map((a): SubtaskAcknowledgement => {
          const handle = a.stateHandle ?? a.metadata?.stateHandle;
          return {
            checkpointId: a.checkpointId,
            executionAttemptId: a.executionAttemptId,
            ...(handle !== undefined ? { stateHandle: handle } : {}),
            ...(a.stateSizeBytes !== undefined ? { stateSizeBytes: a.stateSizeBytes } : {}),
          };
        }),
      ),
    );
  }

  declineCheckpoints(request: { readonly taskManagerId: string; readonly declines: readonly WireCheckpointDecline[] }): AcknowledgeResult {
    return this.perJob(request.declines, (c, declines) =>
      c.decline(declines.map((d): SubtaskDecline => ({ checkpointId: d.checkpointId, executionAttemptId: d.executionAttemptId, reason: `${d.reason} (TaskManager ${request.taskManagerId})` }))),
    );
  }

  /** Hands each job's share of an RPC batch to its coordinator; items of unknown jobs count as ignored. */
  private perJob<T extends { readonly jobId: string }>(items: readonly T[], apply: (coordinator: CheckpointCoordinator, items: T[]) => AcknowledgeResult): AcknowledgeResult {
    let accepted = 0;
    let ignored = 0;
    for (const [jobId, ofJob] of groupByJob(items)) {
      const c = this.jobs.get(jobId)?.coordinator;
      if (!c) {
        ignored += ofJob.length;
        continue;
      }
      const r = apply(c, ofJob);
      accepted += r.accepted;
      ignored += r.ignored;
    }
    return { accepted, ignored };
  }

  /** Stops every coordinator (shutdown); pending writes are awaited. */
  async close(): Promise<void> {
    for (const e of this.jobs.values()) e.coordinator.stop('JobManager shutting down');
    await Promise.allSettled([...this.jobs.values()].map((e) => e.writes));
  }
}

function groupByJob<T extends { readonly jobId: string }>(items: readonly T[]): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const it of items) {
    let l = m.get(it.jobId);
    if (!l) m.set(it.jobId, (l = []));
    l.push(it);
  }
  return m;
}

function collectTasks(jm: JobMasterApi): CheckpointTask[] {
  const out: CheckpointTask[] = [];
  for (const a of jm.currentAttempts()) {
    if (a.taskManagerId === undefined) continue;
    out.push({ executionAttemptId: a.executionAttemptId, taskManagerId: a.taskManagerId, vertexId: a.jobVertexId, subtaskIndex: a.subtaskIndex });
  }
  return out;
}
