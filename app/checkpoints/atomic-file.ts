// Atomic, checksummed JSON files. A file is either absent, the old version or
// the new version - never a partial one - because it is written to a temp file
// in the same directory, fsynced, renamed over the target and the directory is
// fsynced. Every file is an envelope {format, version, sha256, payload}; the
// checksum covers the payload's exact JSON text, so truncation, bit rot or a
// hand edit is detected and reported with the path instead of being loaded.
import { createHash, randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { errnoCode, type DurableFs } from './durable-fs.js';

export const ENVELOPE_VERSION = 1;

/** Marker in temp-file names; such files are never read, and removed on boot. */
export const TEMP_MARKER = '.tmp-';

export function isTempFileName(name: string): boolean {
  return name.startsWith('.') && name.includes(TEMP_MARKER);
}

/** A file on disk that is not a complete, valid envelope of the expected format. */
export class CorruptFileError extends Error {
  readonly path: string;
  readonly reason: string;
  constructor(path: string, reason: string) {
    super(`corrupt file ${path}: ${reason}`);
    this.name = 'CorruptFileError';
    this.path = path;
    this.reason = reason;
  }
}

export type WriteStep = 'open' | 'write' | 'fsync' | 'close' | 'rename' | 'fsync-dir';

/** A durable write that did not complete; the target still holds its previous content (or is absent). */
export class StorageWriteError extends Error {
  readonly path: string;
  readonly step: WriteStep;
  readonly code: string | undefined;
  constructor(path: string, step: WriteStep, cause: unknown) {
    const code = errnoCode(cause);
    const detail = cause instanceof Error ? cause.message : String(cause);
    super(`could not write ${path} (${step} failed${code ? `: ${code}` : ''}): ${detail}`);
    this.name = 'StorageWriteError';
    this.path = path;
    this.step = step;
    this.code = code;
  }
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** The envelope's bytes for a payload (exported for tests that forge files). */
export function encodeEnvelope(format: string, payload: unknown): string {
  const body = JSON.stringify(payload);
  if (body === undefined) throw new TypeError('payload is not JSON-serialisable');
  return `{"format":${JSON.stringify(format)},"version":${ENVELOPE_VERSION},"sha256":"${sha256(body)}","payload":${body}}\n`;
}

/** Parses and verifies an envelope; throws CorruptFileError naming `path`. */
export function decodeEnvelope(path: string, format: string, bytes: Buffer): unknown {
  if (bytes.byteLength === 0) throw new CorruptFileError(path, 'empty file');
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new CorruptFileError(path, `not valid JSON (truncated or damaged): ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new CorruptFileError(path, 'not an envelope object {format, version, sha256, payload}');
  }
  const env = parsed as Record<string, unknown>;
  if (env.format !== format) {
    throw new CorruptFileError(path, `format is ${JSON.stringify(env.format)}, expected ${JSON.stringify(format)}`);
  }
  if (env.version !== ENVELOPE_VERSION) {
    throw new CorruptFileError(path, `envelope version ${JSON.stringify(env.version)} is not supported (expected ${ENVELOPE_VERSION})`);
  }
  if (typeof env.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(env.sha256)) {
    throw new CorruptFileError(path, 'missing or malformed sha256');
  }
  if (!('payload' in env)) throw new CorruptFileError(path, 'missing payload');
  // JSON.stringify(JSON.parse(s)) reproduces s exactly for text JSON.stringify produced.
  const actual = sha256(JSON.stringify(env.payload));
  if (actual !== env.sha256) {
    throw new CorruptFileError(path, `checksum mismatch (stored ${env.sha256.slice(0, 12)}..., computed ${actual.slice(0, 12)}...)`);
  }
  return env.payload;
}

function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}${TEMP_MARKER}${process.pid}-${randomBytes(4).toString('hex')}`);
}

/**
 * Writes `payload` to `path` atomically and durably. On any failure the temp
 * file is removed (best effort) and StorageWriteError names the path and step;
 * the target keeps its previous content - except when only the final
 * directory fsync fails (step 'fsync-dir'): then the new, complete file is
 * visible but not known to be durable, and the caller decides what to do.
 */
export async function writeAtomic(fs: DurableFs, path: string, format: string, payload: unknown): Promise<void> {
  const data = Buffer.from(encodeEnvelope(format, payload), 'utf8');
  const tmp = tempPathFor(path);
  let step: WriteStep = 'open';
  try {
    const fh = await fs.openForWrite(tmp);
    let failure: unknown;
    try {
      step = 'write';
      await fh.write(data);
      step = 'fsync';
      await fh.sync();
    } catch (err) {
      failure = err;
    }
    try {
      await fh.close();
    } catch (err) {
      // A close error after a failed write/fsync is noise; report the first failure.
      if (failure === undefined) {
        step = 'close';
        failure = err;
      }
    }
    if (failure !== undefined) throw failure;
    step = 'rename';
    await fs.rename(tmp, path);
  } catch (err) {
    await fs.unlink(tmp).catch(() => undefined);
    throw new StorageWriteError(path, step, err);
  }
  try {
    await fs.syncDir(dirname(path));
  } catch (err) {
    // The new, complete file is visible but its directory entry may not survive a
    // crash. Callers that must not expose it (new checkpoint files) remove it; for
    // overwritten files (the counter) removing it would lose the old value too.
    throw new StorageWriteError(path, 'fsync-dir', err);
  }
}

/** Reads and verifies; undefined when the file does not exist. */
export async function readVerified(fs: DurableFs, path: string, format: string): Promise<unknown> {
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(path);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw err;
  }
  return decodeEnvelope(path, format, bytes);
}
