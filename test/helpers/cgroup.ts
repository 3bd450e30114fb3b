// Real cgroup v1 memory cgroups for tests that must run a process under an
// actual kernel limit. Creating them needs root and a v1 memory controller
// (this project's CI host); elsewhere tests skip with the reason, except under
// CI=true, where a missing prerequisite is a failure (.ci/run provides them).
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const V1_MEMORY_ROOT = '/sys/fs/cgroup/memory';

/** Why real memory cgroups cannot be created here, or undefined when they can. */
export function memoryCgroupUnavailableReason(): string | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
    return 'needs root to create a memory cgroup under ' + V1_MEMORY_ROOT;
  }
  if (!existsSync(join(V1_MEMORY_ROOT, 'memory.limit_in_bytes'))) {
    return 'no cgroup v1 memory controller mounted at ' + V1_MEMORY_ROOT;
  }
  return undefined;
}

/** True in CI, where skipping for missing prerequisites is not allowed. */
export const inCI = (): boolean => process.env['CI'] !== undefined && process.env['CI'] !== '' && process.env['CI'] !== 'false';

export interface MemoryCgroup {
  readonly dir: string;
  /** Shell prefix that moves the shell into this cgroup before exec'ing the rest. */
  readonly enterCommand: string;
  /** A child cgroup (no limit of its own) for nesting tests. */
  child(name: string): MemoryCgroup;
  remove(): Promise<void>;
}

let seq = 0;

/** Creates a cgroup with the given limit; call remove() (in a teardown) to delete it. */
export function createMemoryCgroup(limitBytes: number | undefined, label = 'jm-test'): MemoryCgroup {
  const dir = join(V1_MEMORY_ROOT, `${label}-${process.pid}-${Date.now().toString(36)}-${seq++}`);
  return make(dir, limitBytes);
}

function make(dir: string, limitBytes: number | undefined): MemoryCgroup {
  mkdirSync(dir);
  if (limitBytes !== undefined) writeFileSync(join(dir, 'memory.limit_in_bytes'), String(limitBytes));
  const children: MemoryCgroup[] = [];
  return {
    dir,
    enterCommand: `echo $$ > ${dir}/cgroup.procs`,
    child(name: string) {
      const c = make(join(dir, name), undefined);
      children.push(c);
      return c;
    },
    async remove() {
      for (const c of children) await c.remove();
      // rmdir fails with EBUSY while a process is still in the cgroup (it may
      // be exiting): retry briefly, then give up loudly.
      for (let attempt = 0; ; attempt++) {
        try {
          if (existsSync(dir)) rmdirSync(dir);
          return;
        } catch (err) {
          const procs = safeRead(join(dir, 'cgroup.procs'));
          for (const pid of procs.split('\n').filter(Boolean)) {
            try {
              process.kill(Number(pid), 'SIGKILL');
            } catch {
              /* already gone */
            }
          }
          if (attempt >= 50) throw new Error(`could not remove cgroup ${dir}: ${(err as Error).message}`);
          await sleep(100);
        }
      }
    },
  };
}

function safeRead(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
