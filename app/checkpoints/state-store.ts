// The JobManager's storage directory (`jobmanager.storage.dir`): submitted
// JobGraphs, job status, and per job the checkpoint store. Layout:
//
//   <dir>/jobs/<jobid>/jobgraph.json            the submitted JobGraph
//   <dir>/jobs/<jobid>/status.json              last known job status
//   <dir>/jobs/<jobid>/checkpoint-counter.json  next checkpoint id
//   <dir>/jobs/<jobid>/checkpoints/chk-<id>.json completed checkpoint metadata
//
// Every file is written by writeAtomic (temp + fsync + rename + fsync dir)
// and checksummed. open() refuses an unusable directory with a ConfigError.
import { randomBytes } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { ConfigError } from '../config/errors.js';
import { CorruptFileError, isTempFileName, readVerified, writeAtomic } from './atomic-file.js';
import { JobCheckpointStore } from './checkpoint-store.js';
import { errnoCode, nodeDurableFs, type DurableFs } from './durable-fs.js';
import {
  silentLogger,
  TERMINAL_JOB_STATUSES,
  type CorruptCheckpointFile,
  type DomainLogger,
  type JobStatusRecord,
  type StoredJob,
  type StoredJobs,
} from './types.js';

export const STORAGE_DIR_KEY = 'jobmanager.storage.dir';
export const JOBGRAPH_FORMAT = 'jobmanager/jobgraph';
export const STATUS_FORMAT = 'jobmanager/job-status';
const JOB_ID = /^[0-9a-f]{32}$/;

export interface StateStoreOptions {
  /** `jobmanager.storage.dir`, relative paths against cwd. */
  readonly dir: string;
  readonly fs?: DurableFs;
  readonly log?: DomainLogger;
  /** `jobstore.max-capacity`: terminal jobs remembered. */
  readonly maxArchivedJobs?: number;
}

function assertJobId(jobId: string): void {
  // Job ids become directory names: refuse anything that could escape the tree.
  if (!JOB_ID.test(jobId)) throw new Error(`job id ${JSON.stringify(jobId)} is not 32 lowercase hex characters`);
}

function isStatusRecord(v: unknown, jobId: string): v is JobStatusRecord {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  return r.jobId === jobId && typeof r.status === 'string' && typeof r.name === 'string' && typeof r.startTime === 'number' && typeof r.endTime === 'number';
}

export class FileStateStore {
  readonly dir: string;
  private readonly jobsDir: string;
  private readonly fs: DurableFs;
  private readonly log: DomainLogger;
  private readonly maxArchived: number;
  private readonly checkpointStores = new Map<string, JobCheckpointStore>();
  /** Terminal job ids, oldest end time first (for bounding the archive). */
  private archivedOrder: { jobId: string; endTime: number }[] = [];

  private constructor(dir: string, fs: DurableFs, log: DomainLogger, maxArchived: number) {
    this.dir = dir;
    this.jobsDir = join(dir, 'jobs');
    this.fs = fs;
    this.log = log;
    this.maxArchived = Math.max(0, Math.floor(maxArchived));
  }

  /**
   * Creates the directory if needed and proves it is writable by durably
   * writing and removing a probe file. Any failure is a ConfigError (exit 78)
   * naming the path: better to refuse to start than to accept jobs whose
   * checkpoints cannot be kept.
   */
  static async open(options: StateStoreOptions): Promise<FileStateStore> {
    const dir = resolve(options.dir);
    const fs = options.fs ?? nodeDurableFs;
    const store = new FileStateStore(dir, fs, options.log ?? silentLogger, options.maxArchivedJobs ?? 1000);
    const probe = join(dir, `.write-probe-${process.pid}-${randomBytes(4).toString('hex')}`);
    try {
      await fs.mkdir(store.jobsDir);
      await writeAtomic(fs, probe, 'jobmanager/write-probe', { at: Date.now() });
      await fs.unlink(probe);
    } catch (err) {
      await fs.unlink(probe).catch(() => undefined);
      const code = errnoCode(err);
      const detail = err instanceof Error ? err.message : String(err);
      throw new ConfigError(
        `${STORAGE_DIR_KEY} (${dir}) is not a writable directory${code ? ` (${code})` : ''}: ${detail}. ` +
          'The JobManager keeps JobGraphs and checkpoint metadata there; mount a writable volume or point the key elsewhere.',
        [STORAGE_DIR_KEY],
      );
    }
    return store;
  }

  private jobDir(jobId: string): string {
    assertJobId(jobId);
    return join(this.jobsDir, jobId);
  }

  private async ensureJobDir(jobId: string): Promise<string> {
    const d = this.jobDir(jobId);
    await this.fs.mkdir(d);
    await this.fs.syncDir(dirname(d));
    return d;
  }

  /** Persists a submitted JobGraph (before the submission is acknowledged). */
  async putJobGraph(jobId: string, jobGraph: unknown): Promise<void> {
    const d = await this.ensureJobDir(jobId);
    await writeAtomic(this.fs, join(d, 'jobgraph.json'), JOBGRAPH_FORMAT, jobGraph);
  }

  /**
   * Records a job's status. On a terminal status the job's checkpoints are
   * discarded (as Flink does on finish/cancel) and the archive is bounded.
   */
  async putJobStatus(record: JobStatusRecord): Promise<void> {
    const d = await this.ensureJobDir(record.jobId);
    await writeAtomic(this.fs, join(d, 'status.json'), STATUS_FORMAT, record);
    if (TERMINAL_JOB_STATUSES.has(record.status)) {
      await this.checkpointStore(record.jobId, 1).discardAll();
      this.checkpointStores.delete(record.jobId);
      this.archivedOrder = this.archivedOrder.filter((a) => a.jobId !== record.jobId);
      this.archivedOrder.push({ jobId: record.jobId, endTime: record.endTime });
      this.archivedOrder.sort((a, b) => a.endTime - b.endTime);
      await this.pruneArchive();
    }
  }

  private async pruneArchive(): Promise<void> {
    while (this.archivedOrder.length > this.maxArchived) {
      const oldest = this.archivedOrder.shift()!;
      await this.fs.removeTree(this.jobDir(oldest.jobId));
    }
  }

  /** Removes a job entirely (e.g. a submission that was refused after being stored). */
  async removeJob(jobId: string): Promise<void> {
    this.checkpointStores.delete(jobId);
    this.archivedOrder = this.archivedOrder.filter((a) => a.jobId !== jobId);
    await this.fs.removeTree(this.jobDir(jobId));
  }

  /** The (cached) checkpoint store of a job; `retained` updates the cached one. */
  checkpointStore(jobId: string, retained: number): JobCheckpointStore {
    let s = this.checkpointStores.get(jobId);
    if (!s) {
      s = new JobCheckpointStore({ fs: this.fs, jobDir: this.jobDir(jobId), jobId, retained, log: this.log });
      this.checkpointStores.set(jobId, s);
    } else {
      s.setRetained(retained);
    }
    return s;
  }

  /**
   * Reads every job folder at boot. Stale temp files are removed; unreadable
   * or corrupt files are reported and skipped (a job without a valid JobGraph
   * cannot be recovered). Terminal jobs beyond the archive capacity are deleted.
   */
  async recoverJobs(): Promise<StoredJobs> {
    const active: StoredJob[] = [];
    const archived: StoredJob[] = [];
    const problems: CorruptCheckpointFile[] = [];
    for (const name of await this.fs.readdir(this.jobsDir)) {
      const d = join(this.jobsDir, name);
      if (isTempFileName(name)) {
        await this.fs.unlink(d).catch(() => undefined);
        continue;
      }
      if (!JOB_ID.test(name) || !(await this.fs.isDirectory(d))) continue;
      for (const f of await this.fs.readdir(d)) {
        if (isTempFileName(f)) await this.fs.unlink(join(d, f)).catch(() => undefined);
      }
      const read = async (file: string, format: string): Promise<unknown> => {
        const path = join(d, file);
        try {
          return await readVerified(this.fs, path, format);
        } catch (err) {
          const reason = err instanceof CorruptFileError ? err.reason : `unreadable: ${(err as Error).message}`;
          problems.push({ path, quarantinedPath: undefined, checkpointId: undefined, reason });
          this.log.error({ jobId: name, path, reason }, `${path} could not be loaded: ${reason}`);
          return undefined;
        }
      };
      const jobGraph = await read('jobgraph.json', JOBGRAPH_FORMAT);
      if (jobGraph === undefined) continue;
      const rawStatus = await read('status.json', STATUS_FORMAT);
      let status: JobStatusRecord | undefined;
      if (rawStatus !== undefined) {
        if (isStatusRecord(rawStatus, name)) status = rawStatus;
        else {
          const path = join(d, 'status.json');
          problems.push({ path, quarantinedPath: undefined, checkpointId: undefined, reason: 'status record lacks jobId/name/status/startTime/endTime' });
          this.log.error({ jobId: name, path }, `${path} is not a valid status record; recovering the job as submitted`);
        }
      }
      const job: StoredJob = { jobId: name, jobGraph, status };
      if (status && TERMINAL_JOB_STATUSES.has(status.status)) archived.push(job);
      else active.push(job);
    }
    archived.sort((a, b) => (b.status?.endTime ?? 0) - (a.status?.endTime ?? 0));
    this.archivedOrder = archived.map((j) => ({ jobId: j.jobId, endTime: j.status?.endTime ?? 0 })).reverse();
    await this.pruneArchive();
    const kept = new Set(this.archivedOrder.map((a) => a.jobId));
    return { active, archived: archived.filter((j) => kept.has(j.jobId)), problems };
  }
}
