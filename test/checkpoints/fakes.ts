// Test doubles for the checkpoint work: an in-memory DurableFs, a fault
// injecting wrapper around any DurableFs, and a recording task gateway.
import { basename, dirname } from 'node:path';
import type { DurableFileHandle, DurableFs } from '../../app/checkpoints/durable-fs.js';
import type { CheckpointNotification, CheckpointTaskGateway, TriggerCheckpointRequest } from '../../app/checkpoints/coordinator.js';

function sysErr(code: string, syscall: string, path: string): NodeJS.ErrnoException {
  const e = new Error(`${code}: injected fault, ${syscall} '${path}'`) as NodeJS.ErrnoException;
  e.code = code;
  e.syscall = syscall;
  e.path = path;
  return e;
}

/** Files in a Map; directories implied by paths (mkdir records them). */
export class MemoryFs implements DurableFs {
  readonly files = new Map<string, Buffer>();
  readonly dirs = new Set<string>(['/']);

  async mkdir(path: string): Promise<void> {
    let p = path;
    while (p !== '/' && p !== '.' && !this.dirs.has(p)) {
      this.dirs.add(p);
      p = dirname(p);
    }
  }
  async openForWrite(path: string): Promise<DurableFileHandle> {
    if (!this.dirs.has(dirname(path))) throw sysErr('ENOENT', 'open', path);
    this.files.set(path, Buffer.alloc(0));
    return {
      write: async (data) => {
        this.files.set(path, Buffer.concat([this.files.get(path) ?? Buffer.alloc(0), Buffer.from(data)]));
      },
      sync: async () => undefined,
      close: async () => undefined,
    };
  }
  async rename(from: string, to: string): Promise<void> {
    const b = this.files.get(from);
    if (!b) throw sysErr('ENOENT', 'rename', from);
    this.files.delete(from);
    this.files.set(to, b);
  }
  async syncDir(): Promise<void> {}
  async readFile(path: string): Promise<Buffer> {
    const b = this.files.get(path);
    if (!b) throw sysErr('ENOENT', 'open', path);
    return b;
  }
  async readdir(path: string): Promise<string[]> {
    const out = new Set<string>();
    for (const p of [...this.files.keys(), ...this.dirs]) if (dirname(p) === path && p !== path) out.add(basename(p));
    return [...out];
  }
  async unlink(path: string): Promise<void> {
    this.files.delete(path);
  }
  async removeTree(path: string): Promise<void> {
    for (const p of [...this.files.keys()]) if (p === path || p.startsWith(path + '/')) this.files.delete(p);
    for (const p of [...this.dirs]) if (p === path || p.startsWith(path + '/')) this.dirs.delete(p);
  }
  async isDirectory(path: string): Promise<boolean> {
    return this.dirs.has(path);
  }
}

export type FaultStep = 'open' | 'write' | 'partial-write' | 'fsync' | 'close' | 'rename' | 'fsync-dir' | 'unlink';

interface Fault {
  step: FaultStep;
  code: string;
  match: (path: string) => boolean;
  remaining: number;
}

/**
 * Wraps a DurableFs; armed faults throw a Node-style errno error at one step
 * (`partial-write` writes half the bytes first, like a full disk would).
 */
export class FaultyFs implements DurableFs {
  private faults: Fault[] = [];
  constructor(private readonly inner: DurableFs) {}

  /** Arms a fault for the next `times` matching operations. */
  fail(step: FaultStep, code = 'EIO', match: (path: string) => boolean = () => true, times = 1): void {
    this.faults.push({ step, code, match, remaining: times });
  }
  clear(): void {
    this.faults = [];
  }
  private take(step: FaultStep, path: string): Fault | undefined {
    const f = this.faults.find((x) => x.step === step && x.remaining > 0 && x.match(path));
    if (f) f.remaining--;
    return f;
  }
  private check(step: FaultStep, syscall: string, path: string): void {
    const f = this.take(step, path);
    if (f) throw sysErr(f.code, syscall, path);
  }

  mkdir(path: string): Promise<void> {
    return this.inner.mkdir(path);
  }
  async openForWrite(path: string): Promise<DurableFileHandle> {
    this.check('open', 'open', path);
    const h = await this.inner.openForWrite(path);
    return {
      write: async (data) => {
        const partial = this.take('partial-write', path);
        if (partial) {
          await h.write(data.subarray(0, Math.floor(data.byteLength / 2)));
          throw sysErr(partial.code, 'write', path);
        }
        this.check('write', 'write', path);
        await h.write(data);
      },
      sync: async () => {
        this.check('fsync', 'fsync', path);
        await h.sync();
      },
      close: async () => {
        await h.close();
        this.check('close', 'close', path);
      },
    };
  }
  async rename(from: string, to: string): Promise<void> {
    this.check('rename', 'rename', to);
    return this.inner.rename(from, to);
  }
  async syncDir(path: string): Promise<void> {
    this.check('fsync-dir', 'fsync', path);
    return this.inner.syncDir(path);
  }
  readFile(path: string): Promise<Buffer> {
    return this.inner.readFile(path);
  }
  readdir(path: string): Promise<string[]> {
    return this.inner.readdir(path);
  }
  async unlink(path: string): Promise<void> {
    this.check('unlink', 'unlink', path);
    return this.inner.unlink(path);
  }
  removeTree(path: string): Promise<void> {
    return this.inner.removeTree(path);
  }
  isDirectory(path: string): Promise<boolean> {
    return this.inner.isDirectory(path);
  }
}

export interface GatewayCall {
  kind: 'trigger' | 'complete' | 'aborted';
  taskManagerId: string;
  request: TriggerCheckpointRequest | CheckpointNotification;
}

/** Records every call; `failTrigger` makes trigger calls to a TaskManager reject. */
export class FakeGateway implements CheckpointTaskGateway {
  readonly calls: GatewayCall[] = [];
  failTrigger = new Set<string>();
  async triggerCheckpoint(taskManagerId: string, request: TriggerCheckpointRequest): Promise<void> {
    this.calls.push({ kind: 'trigger', taskManagerId, request });
    if (this.failTrigger.has(taskManagerId)) throw new Error(`connection refused by ${taskManagerId}`);
  }
  async notifyCheckpointComplete(taskManagerId: string, request: CheckpointNotification): Promise<void> {
    this.calls.push({ kind: 'complete', taskManagerId, request });
  }
  async notifyCheckpointAborted(taskManagerId: string, request: CheckpointNotification): Promise<void> {
    this.calls.push({ kind: 'aborted', taskManagerId, request });
  }
  triggers(): (GatewayCall & { request: TriggerCheckpointRequest })[] {
    return this.calls.filter((c) => c.kind === 'trigger') as (GatewayCall & { request: TriggerCheckpointRequest })[];
  }
  completes(): GatewayCall[] {
    return this.calls.filter((c) => c.kind === 'complete');
  }
}

/** Lets pending promise chains (store writes) run; bounded. */
export async function settle(turns = 20): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((r) => setImmediate(r));
}
