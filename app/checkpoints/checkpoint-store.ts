// Per-job durable checkpoint state: the completed-checkpoint metadata files
// (Flink's CompletedCheckpointStore) and the checkpoint ID counter (Flink's
// CheckpointIDCounter), under jobs/<jobid>/.
//
// Invariants:
// - an id is handed out only after the counter beyond it is durable, so no
//   crash can make an id be used twice;
// - a checkpoint is in `completed` only after its file is durable;
// - older checkpoints are deleted only after the newer one is durable.
import { dirname, join } from 'node:path';
import { CorruptFileError, StorageWriteError, isTempFileName, readVerified, writeAtomic } from './atomic-file.js';
import type { DurableFs } from './durable-fs.js';
import { errnoCode } from './durable-fs.js';
import {
  silentLogger,
  type CheckpointRecovery,
  type CompletedCheckpoint,
  type CorruptCheckpointFile,
  type DomainLogger,
  type VertexCheckpointState,
} from './types.js';

export const CHECKPOINT_FORMAT = 'jobmanager/completed-checkpoint';
export const COUNTER_FORMAT = 'jobmanager/checkpoint-counter';
export const COUNTER_FILE = 'checkpoint-counter.json';
export const CHECKPOINTS_DIR = 'checkpoints';
const CHK_NAME = /^chk-(\d{1,15})\.json$/;
const CORRUPT_SUFFIX = '.corrupt';

export function checkpointFileName(checkpointId: number): string {
  return `chk-${checkpointId}.json`;
}

/** Validates the payload of a chk file; throws CorruptFileError naming what is wrong. */
export function parseCompletedCheckpoint(path: string, payload: unknown, jobId: string, expectedId: number | undefined): CompletedCheckpoint {
  const bad = (what: string): never => {
    throw new CorruptFileError(path, `checkpoint metadata ${what}`);
  };
  if (typeof payload !== 'object' || payload === null) return bad('is not an object');
  const p = payload as Record<string, unknown>;
  if (p.jobId !== jobId) bad(`belongs to job ${JSON.stringify(p.jobId)}, not ${jobId}`);
  const id = p.checkpointId;
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 1) return bad('has no valid checkpointId');
  if (expectedId !== undefined && id !== expectedId) bad(`says checkpointId ${id} but the file name says ${expectedId}`);
  for (const f of ['triggerTimestamp', 'ackCompletedTimestamp', 'stateSizeBytes'] as const) {
    if (typeof p[f] !== 'number' || !Number.isFinite(p[f])) bad(`has no numeric ${f}`);
  }
  if (!Array.isArray(p.vertices)) return bad('has no vertices array');
  const vertices: VertexCheckpointState[] = [];
  for (const v of p.vertices as unknown[]) {
    const o = (typeof v === 'object' && v !== null ? v : {}) as Record<string, unknown>;
    if (typeof o.vertexId !== 'string' || !Array.isArray(o.stateHandles) || !Array.isArray(o.stateSizes)) {
      return bad('has a vertex entry without vertexId/stateHandles/stateSizes');
    }
    if (o.stateHandles.length !== o.stateSizes.length) bad(`vertex ${o.vertexId}: stateHandles and stateSizes differ in length`);
    if (!o.stateHandles.every((h) => h === null || typeof h === 'string')) bad(`vertex ${o.vertexId}: a state handle is not a string`);
    if (!o.stateSizes.every((s) => typeof s === 'number' && s >= 0)) bad(`vertex ${o.vertexId}: a state size is not a non-negative number`);
    vertices.push({ vertexId: o.vertexId, stateHandles: o.stateHandles as (string | null)[], stateSizes: o.stateSizes as number[] });
  }
  return {
    jobId,
    checkpointId: id,
    triggerTimestamp: p.triggerTimestamp as number,
    ackCompletedTimestamp: p.ackCompletedTimestamp as number,
    stateSizeBytes: p.stateSizeBytes as number,
    vertices,
  };
}

export interface JobCheckpointStoreOptions {
  readonly fs: DurableFs;
  /** jobs/<jobid> */
  readonly jobDir: string;
  readonly jobId: string;
  /** How many completed checkpoints to keep (>= 1). */
  readonly retained: number;
  readonly log?: DomainLogger;
}

export class JobCheckpointStore {
  private readonly fs: DurableFs;
  private readonly jobDir: string;
  private readonly checkpointsDir: string;
  readonly jobId: string;
  private retainedCount: number;
  private readonly log: DomainLogger;
  private completed: CompletedCheckpoint[] = [];
  private nextId = 1;
  private recovered = false;
  private dirsReady = false;
  /** Serialises counter writes and checkpoint additions (each a read-modify-write). */
  private counterChain: Promise<unknown> = Promise.resolve();
  private addChain: Promise<unknown> = Promise.resolve();

  constructor(options: JobCheckpointStoreOptions) {
    this.fs = options.fs;
    this.jobDir = options.jobDir;
    this.checkpointsDir = join(options.jobDir, CHECKPOINTS_DIR);
    this.jobId = options.jobId;
    this.retainedCount = Math.max(1, Math.floor(options.retained));
    this.log = options.log ?? silentLogger;
  }

  get retained(): number {
    return this.retainedCount;
  }

  /** Path of a checkpoint's metadata file (Flink's `external_path`). */
  pathOf(checkpointId: number): string {
    return join(this.checkpointsDir, checkpointFileName(checkpointId));
  }

  /**
   * Reads the counter and every chk file. Corrupt files are reported (log and
   * result) and moved aside to `<name>.corrupt`; the newest valid ones are
   * kept, older ones beyond `retained` deleted, stale temp files removed.
   */
  async recover(): Promise<CheckpointRecovery> {
    const corrupt: CorruptCheckpointFile[] = [];
    const valid: CompletedCheckpoint[] = [];
    let maxIdSeen = 0;
    for (const name of await this.fs.readdir(this.checkpointsDir)) {
      const path = join(this.checkpointsDir, name);
      if (isTempFileName(name)) {
        await this.fs.unlink(path).catch(() => undefined);
        continue;
      }
      const m = CHK_NAME.exec(name);
      if (!m) continue; // .corrupt files and anything foreign are left alone
      const fileId = Number(m[1]);
      maxIdSeen = Math.max(maxIdSeen, fileId);
      try {
        const payload = await readVerified(this.fs, path, CHECKPOINT_FORMAT);
        if (payload === undefined) continue;
        valid.push(parseCompletedCheckpoint(path, payload, this.jobId, fileId));
      } catch (err) {
        const reason = err instanceof CorruptFileError ? err.reason : `unreadable: ${(err as Error).message}`;
        let quarantinedPath: string | undefined = path + CORRUPT_SUFFIX;
        try {
          await this.fs.rename(path, quarantinedPath);
        } catch {
          quarantinedPath = undefined;
        }
        const record: CorruptCheckpointFile = { path, quarantinedPath, checkpointId: fileId, reason };
        corrupt.push(record);
        this.log.error({ jobId: this.jobId, ...record }, `checkpoint metadata ${path} is corrupt and was not loaded: ${reason}`);
      }
    }
    valid.sort((a, b) => a.checkpointId - b.checkpointId);
    while (valid.length > this.retainedCount) {
      const old = valid.shift()!;
      await this.fs.unlink(this.pathOf(old.checkpointId)).catch(() => undefined);
    }
    this.completed = valid;

    const counterPath = join(this.jobDir, COUNTER_FILE);
    let counterNext = 1;
    try {
      const payload = await readVerified(this.fs, counterPath, COUNTER_FORMAT);
      if (payload !== undefined) {
        const next = (payload as { next?: unknown }).next;
        if (typeof next !== 'number' || !Number.isSafeInteger(next) || next < 1) {
          throw new CorruptFileError(counterPath, 'counter payload has no positive integer "next"');
        }
        counterNext = next;
      }
    } catch (err) {
      const reason = err instanceof CorruptFileError ? err.reason : `unreadable: ${(err as Error).message}`;
      corrupt.push({ path: counterPath, quarantinedPath: undefined, checkpointId: undefined, reason });
      this.log.error(
        { jobId: this.jobId, path: counterPath, reason },
        `checkpoint counter ${counterPath} is corrupt; continuing after the highest checkpoint id on disk`,
      );
    }
    // The counter is written before any id is used, so it is normally ahead of every file;
    // taking the max also covers a lost/corrupt counter.
    this.nextId = Math.max(counterNext, maxIdSeen + 1, this.nextId);
    this.recovered = true;
    return { completed: [...this.completed], corrupt, nextCheckpointId: this.nextId };
  }

  private async ensureDirs(): Promise<void> {
    if (this.dirsReady) return;
    await this.fs.mkdir(this.checkpointsDir);
    // Make the new directory entries themselves durable.
    await this.fs.syncDir(this.jobDir);
    await this.fs.syncDir(dirname(this.jobDir));
    this.dirsReady = true;
  }

  /**
   * Hands out the next checkpoint id after making the counter beyond it
   * durable. On a write failure the id is burnt (never handed out later,
   * since the new counter may have reached the disk) and the error thrown.
   */
  reserveCheckpointId(): Promise<number> {
    const run = async (): Promise<number> => {
      if (!this.recovered) await this.recover();
      const id = this.nextId;
      this.nextId = id + 1;
      await this.ensureDirs();
      await writeAtomic(this.fs, join(this.jobDir, COUNTER_FILE), COUNTER_FORMAT, { jobId: this.jobId, next: id + 1 });
      return id;
    };
    const p = this.counterChain.then(run, run);
    this.counterChain = p.catch(() => undefined);
    return p;
  }

  /** A brand-new job: nothing on disk to read (skips recover()). */
  markFresh(): void {
    this.recovered = true;
  }

  /** The next id that reserveCheckpointId would hand out. */
  peekNextCheckpointId(): number {
    return this.nextId;
  }

  /**
   * Writes the checkpoint's metadata durably, then drops checkpoints beyond
   * `retained` (oldest first). Throws StorageWriteError when the metadata is
   * not durable; then nothing of it is visible and the retained set is unchanged.
   * Returns the ids of the checkpoints it discarded.
   */
  addCompleted(checkpoint: CompletedCheckpoint): Promise<number[]> {
    const run = async (): Promise<number[]> => {
      if (checkpoint.jobId !== this.jobId) throw new Error(`checkpoint of job ${checkpoint.jobId} given to the store of job ${this.jobId}`);
      const path = this.pathOf(checkpoint.checkpointId);
      try {
        await this.ensureDirs();
        await writeAtomic(this.fs, path, CHECKPOINT_FORMAT, checkpoint);
      } catch (err) {
        // If only the directory fsync failed the file is visible but not known durable: take it back.
        await this.fs.unlink(path).catch(() => undefined);
        if (err instanceof StorageWriteError) throw err;
        throw new StorageWriteError(path, 'open', err);
      }
      this.completed.push(checkpoint);
      this.completed.sort((a, b) => a.checkpointId - b.checkpointId);
      const discarded: number[] = [];
      while (this.completed.length > this.retainedCount) {
        const old = this.completed.shift()!;
        discarded.push(old.checkpointId);
        try {
          await this.fs.unlink(this.pathOf(old.checkpointId));
        } catch (err) {
          // Harmless: the next boot's recover() prunes beyond `retained` again.
          this.log.warn({ jobId: this.jobId, checkpointId: old.checkpointId, code: errnoCode(err) }, 'could not delete a subsumed checkpoint file');
        }
      }
      return discarded;
    };
    const p = this.addChain.then(run, run);
    this.addChain = p.catch(() => undefined);
    return p;
  }

  /** Newest completed checkpoint that is durable. */
  latest(): CompletedCheckpoint | undefined {
    return this.completed[this.completed.length - 1];
  }

  /** Retained completed checkpoints, oldest first. */
  all(): readonly CompletedCheckpoint[] {
    return this.completed;
  }

  /** Changes how many are kept; takes effect at the next addition. */
  setRetained(retained: number): void {
    this.retainedCount = Math.max(1, Math.floor(retained));
  }

  /** Deletes every checkpoint file and the counter (job reached a terminal state). */
  async discardAll(): Promise<void> {
    await Promise.allSettled([this.addChain, this.counterChain]);
    this.completed = [];
    await this.fs.removeTree(this.checkpointsDir);
    await this.fs.unlink(join(this.jobDir, COUNTER_FILE));
  }
}
