// Dispatcher: accepts JobGraphs, runs one JobMaster per job, routes
// TaskManager updates and losses to them, and keeps a bounded archive of
// terminal jobs (jobstore.max-capacity) as snapshots, so a finished
// 20,000-subtask job does not keep its ExecutionGraph alive.
import { randomHexId } from '../cluster/ids.js';
import { JobNotFoundError } from './errors.js';
import { JobMaster, type JobMasterDeps } from './job-master.js';
import { exceptionsView, jobDetails, jobExceptions, jobOverviewEntry, jobPlan } from './job-views.js';
import { validateJobGraph } from './jobgraph.js';
import {
  TERMINAL_JOB_STATUSES,
  type ClusterOverview,
  type ArchiveStore,
  type DispatcherApi,
  type DispatcherDeps,
  type ExceptionHistoryEntry,
  type JobDetails,
  type JobGraph,
  type JobExceptions,
  type JobIdWithStatus,
  type JobMasterApi,
  type JobOverviewEntry,
  type JobPlan,
  type JobStatus,
  type JobStatusListener,
  type SubmitResult,
  type TaskExecutionStateResult,
  type TaskExecutionStateUpdate,
} from './types.js';

interface ArchivedJob {
  readonly status: JobStatus;
  readonly overview: JobOverviewEntry;
  readonly details: JobDetails;
  readonly plan: JobPlan;
  /** Exception history at the end (newest first), bounded by exceptionHistorySize. */
  readonly exceptionHistory: { entries: readonly ExceptionHistoryEntry[]; dropped: number };
}

export class Dispatcher implements DispatcherApi {
  private readonly running = new Map<string, JobMaster>();
  private readonly archive: ArchiveStore<ArchivedJob>;
  /** Archived jobs per status, kept as entries enter and leave the archive, so overview() (polled by dashboards) does not scan it. */
  private readonly archivedByStatus = new Map<JobStatus, number>();
  private readonly statusListeners = new Set<JobStatusListener>();
  private readonly unsubscribe: () => void;

  constructor(private readonly deps: DispatcherDeps) {
    this.archive = deps.createArchiveStore?.<ArchivedJob>() ?? new Map<string, ArchivedJob>();
    this.archive.onEvicted?.((_jobId, evicted) => this.countArchived(evicted.status, -1));
    const o = deps.options;
    if (!(Number.isInteger(o.attemptHistorySize) && o.attemptHistorySize >= 0 && o.attemptHistorySize <= 255)) {
      throw new RangeError(`jobmanager.execution.attempts-history-size must be an integer 0..255, got ${o.attemptHistorySize}`);
    }
    if (!(Number.isInteger(o.exceptionHistorySize) && o.exceptionHistorySize >= 1)) {
      throw new RangeError(`web.exception-history-size must be an integer >= 1, got ${o.exceptionHistorySize}`);
    }
    if (!(Number.isInteger(o.archivedJobsMax) && o.archivedJobsMax >= 0)) {
      throw new RangeError(`jobstore.max-capacity must be an integer >= 0, got ${o.archivedJobsMax}`);
    }
    if (!(o.slotRequestTimeoutMs > 0)) throw new RangeError(`slot.request.timeout must be a positive duration, got ${o.slotRequestTimeoutMs} ms`);
    this.unsubscribe = deps.resourceManager.onTaskManagerLost((taskManagerId, cause) => {
      for (const jm of [...this.running.values()]) jm.handleTaskManagerLost(taskManagerId, cause);
    });
  }

  /** Why an unknown job id is unknown, when the archive knows (evicted); undefined otherwise. */
  missingJobReason(jobId: string): string | undefined {
    if (this.running.has(jobId) || this.archive.has(jobId)) return undefined;
    const why = this.archive.evictionMessage?.(jobId);
    return why === undefined ? undefined : `Job ${jobId} not found: ${why}`;
  }

  submitJob(body: unknown): SubmitResult {
    return this.startJob(randomHexId(), validateJobGraph(body), 'job submitted');
  }

  /**
   * JobManager restart (app/checkpoints recovery): runs a job found in the
   * storage directory again under its own id, validated like a submission.
   */
  recoverJob(jobId: string, body: unknown): SubmitResult {
    if (this.running.has(jobId) || this.archive.has(jobId)) throw new Error(`job ${jobId} is already known`);
    return this.startJob(jobId, validateJobGraph(body), 'job recovered');
  }

  /**
   * JobManager restart: remembers a terminal job found in the storage
   * directory as archived (its views are rebuilt from the JobGraph; task
   * counts and exceptions of the old run are not kept on disk).
   */
  recoverArchivedJob(jobId: string, body: unknown, status: JobStatus, startTime: number, endTime: number): void {
    if (this.running.has(jobId) || this.archive.has(jobId)) return;
    const jm = new JobMaster(jobId, validateJobGraph(body), deps(this.deps));
    const now = this.deps.clock.now();
    const times = { state: status, 'start-time': startTime, 'end-time': endTime, duration: Math.max(0, endTime - startTime) };
    this.putArchived(jobId, {
      status,
      overview: { ...jobOverviewEntry(jm, now), ...times, 'last-modification': endTime },
      details: { ...jobDetails(jm, now), ...times },
      plan: jobPlan(jm),
      exceptionHistory: { entries: [], dropped: 0 },
    });
    this.trimArchive();
  }

  private startJob(jobId: string, jobGraph: JobGraph, what: string): SubmitResult {
    const release = this.deps.admitJob?.(jobId, jobGraph) ?? undefined;
    let jm: JobMaster;
    try {
      jm = new JobMaster(jobId, jobGraph, deps(this.deps));
    } catch (err) {
      release?.();
      throw err;
    }
    this.running.set(jobId, jm);
    jm.onStatusChange((status, timestamp) => {
      if (TERMINAL_JOB_STATUSES.has(status)) {
        this.archiveJob(jm);
        release?.();
      }
      for (const l of [...this.statusListeners]) l(jobId, status, timestamp);
    });
    this.deps.log?.info({ jobId, name: jobGraph.name, vertices: jobGraph.vertices.length, subtasks: jm.totalTasks() }, what);
    jm.start();
    return { jobId };
  }

  cancelJob(jobId: string): JobStatus {
    const jm = this.running.get(jobId);
    if (jm) return jm.cancel();
    const archived = this.archive.get(jobId);
    if (archived) return archived.status;
    throw new JobNotFoundError(jobId);
  }

  listJobs(): { jobs: JobIdWithStatus[] } {
    const jobs: JobIdWithStatus[] = [];
    for (const [id, jm] of this.running) jobs.push({ id, status: jm.status() });
    for (const [id, a] of this.archive) jobs.push({ id, status: a.status });
    return { jobs };
  }

  jobsOverview(): { jobs: JobOverviewEntry[] } {
    const now = this.deps.clock.now();
    const jobs: JobOverviewEntry[] = [];
    for (const jm of this.running.values()) jobs.push(jobOverviewEntry(jm, now));
    for (const a of this.archive.values()) jobs.push(a.overview);
    return { jobs };
  }

  jobDetails(jobId: string): JobDetails | undefined {
    const now = this.deps.clock.now();
    const jm = this.running.get(jobId);
    if (jm) return jobDetails(jm, now);
    const a = this.archive.get(jobId);
    return a ? { ...a.details, now } : undefined;
  }

  jobPlan(jobId: string): { plan: JobPlan } | undefined {
    const jm = this.running.get(jobId);
    if (jm) return { plan: jobPlan(jm) };
    const a = this.archive.get(jobId);
    return a ? { plan: a.plan } : undefined;
  }

  jobExceptions(jobId: string, maxExceptions?: number): JobExceptions | undefined {
    const jm = this.running.get(jobId);
    if (jm) return jobExceptions(jm, maxExceptions);
    const a = this.archive.get(jobId);
    return a ? exceptionsView(a.exceptionHistory, maxExceptions) : undefined;
  }

  overview(): ClusterOverview {
    const totals = this.deps.resourceManager.slotTotals();
    const archived = (status: JobStatus) => this.archivedByStatus.get(status) ?? 0;
    return {
      taskmanagers: totals.taskManagers,
      'slots-total': totals.slotsTotal,
      'slots-available': totals.slotsAvailable,
      'jobs-running': this.running.size,
      'jobs-finished': archived('FINISHED'),
      'jobs-cancelled': archived('CANCELED'),
      'jobs-failed': archived('FAILED'),
    };
  }

  updateTaskExecutionState(update: TaskExecutionStateUpdate): TaskExecutionStateResult {
    // The RPC adapter validates bodies; this guard keeps a malformed one from throwing here.
    if (typeof update !== 'object' || update === null || typeof update.jobId !== 'string' || typeof update.executionAttemptId !== 'string') {
      return { applied: false, reason: 'unknown-job' };
    }
    const jm = this.running.get(update.jobId);
    if (!jm) return { applied: false, reason: this.archive.has(update.jobId) ? 'unknown-attempt' : 'unknown-job' };
    return jm.updateTaskExecutionState(update);
  }

  updateTaskExecutionStates(updates: readonly TaskExecutionStateUpdate[]): TaskExecutionStateResult[] {
    return updates.map((u) => this.updateTaskExecutionState(u));
  }

  jobMaster(jobId: string): JobMasterApi | undefined {
    return this.running.get(jobId);
  }

  /** The concrete JobMaster (tests, benchmarks). */
  runningJobMaster(jobId: string): JobMaster | undefined {
    return this.running.get(jobId);
  }

  onJobStatusChange(listener: JobStatusListener): () => void {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }

  close(): void {
    this.unsubscribe();
    for (const jm of this.running.values()) jm.close();
  }

  /** jobstore.max-capacity: the oldest terminal jobs leave first (the archive iterates oldest first). */
  private trimArchive(): void {
    while (this.archive.size > this.deps.options.archivedJobsMax) {
      const [oldest, entry] = this.archive.entries().next().value as [string, ArchivedJob];
      if (this.archive.delete(oldest)) this.countArchived(entry.status, -1);
    }
  }

  /** Archive a snapshot, keeping archivedByStatus in step. */
  private putArchived(jobId: string, entry: ArchivedJob): void {
    // Replacing an entry: uncount the old one (set() makes the key the newest anyway, so get()'s recency bump is moot).
    const previous = this.archive.has(jobId) ? this.archive.get(jobId) : undefined;
    if (previous) this.countArchived(previous.status, -1);
    this.archive.set(jobId, entry);
    // A byte-bounded store refuses an entry larger than its whole budget.
    if (this.archive.has(jobId)) this.countArchived(entry.status, 1);
  }

  private countArchived(status: JobStatus, delta: 1 | -1): void {
    this.archivedByStatus.set(status, (this.archivedByStatus.get(status) ?? 0) + delta);
  }

  private archiveJob(jm: JobMaster): void {
    const now = this.deps.clock.now();
    const { entries, dropped } = jm.exceptionHistory();
    this.putArchived(jm.jobId, {
      status: jm.status(),
      overview: jobOverviewEntry(jm, now),
      details: jobDetails(jm, now),
      plan: jobPlan(jm),
      exceptionHistory: { entries: [...entries], dropped },
    });
    this.running.delete(jm.jobId);
    this.trimArchive();
  }
}

function deps(d: DispatcherDeps): JobMasterDeps {
  return { clock: d.clock, resourceManager: d.resourceManager, gateway: d.gateway, options: d.options, ...(d.log ? { log: d.log } : {}) };
}
