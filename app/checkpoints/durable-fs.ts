// The file-system port of the checkpoint store. Only the handful of calls an
// atomic write needs, so tests can wrap it and inject faults (ENOSPC on
// write, EIO on fsync, EXDEV on rename, ...) at exactly one step.
import * as fsp from 'node:fs/promises';
import { dirname } from 'node:path';

export interface DurableFileHandle {
  /** Writes the whole buffer (loops over short writes). */
  write(data: Uint8Array): Promise<void>;
  /** fsync(2): data and metadata reach the device. */
  sync(): Promise<void>;
  close(): Promise<void>;
}

export interface DurableFs {
  mkdir(path: string): Promise<void>;
  /** Creates (or truncates) a file for writing, mode 0600. */
  openForWrite(path: string): Promise<DurableFileHandle>;
  rename(from: string, to: string): Promise<void>;
  /** fsync of a directory, so a rename/unlink inside it is durable. */
  syncDir(path: string): Promise<void>;
  readFile(path: string): Promise<Buffer>;
  /** Entry names; [] when the directory does not exist. */
  readdir(path: string): Promise<string[]>;
  /** Removes a file; a missing file is not an error. */
  unlink(path: string): Promise<void>;
  /** Removes a directory tree; a missing one is not an error. */
  removeTree(path: string): Promise<void>;
  isDirectory(path: string): Promise<boolean>;
}

function isCode(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}

/** The real thing, on node:fs/promises. */
export const nodeDurableFs: DurableFs = {
  // Recursive by hand: fs.mkdir({recursive:true}) reports ENOENT instead of EROFS
  // on a read-only mount, and operators deserve the true cause.
  async mkdir(path) {
    try {
      await fsp.mkdir(path);
    } catch (err) {
      if (isCode(err, 'EEXIST')) {
        if ((await fsp.stat(path)).isDirectory()) return;
        throw err;
      }
      if (!isCode(err, 'ENOENT') || dirname(path) === path) throw err;
      await nodeDurableFs.mkdir(dirname(path));
      try {
        await fsp.mkdir(path);
      } catch (again) {
        if (!isCode(again, 'EEXIST')) throw again;
      }
    }
  },
  async openForWrite(path) {
    const fh = await fsp.open(path, 'w', 0o600);
    return {
      async write(data) {
        let off = 0;
        while (off < data.byteLength) {
          const { bytesWritten } = await fh.write(data, off, data.byteLength - off);
          off += bytesWritten;
        }
      },
      sync: () => fh.sync(),
      close: () => fh.close(),
    };
  },
  rename: (from, to) => fsp.rename(from, to),
  async syncDir(path) {
    const fh = await fsp.open(path, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  },
  readFile: (path) => fsp.readFile(path),
  async readdir(path) {
    try {
      return await fsp.readdir(path);
    } catch (err) {
      if (isCode(err, 'ENOENT')) return [];
      throw err;
    }
  },
  async unlink(path) {
    try {
      await fsp.unlink(path);
    } catch (err) {
      if (!isCode(err, 'ENOENT')) throw err;
    }
  },
  removeTree: (path) => fsp.rm(path, { recursive: true, force: true }),
  async isDirectory(path) {
    try {
      return (await fsp.stat(path)).isDirectory();
    } catch (err) {
      if (isCode(err, 'ENOENT')) return false;
      throw err;
    }
  },
};

/** `code` of a Node system error, or undefined. */
export function errnoCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}
