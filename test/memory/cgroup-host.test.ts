// readContainerMemory against this host's real cgroup files: our own cgroup,
// then a real 256 MiB v1 memory cgroup (and an unlimited child inside it)
// created for the test when root.
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { readContainerMemory } from '../../app/memory/cgroup.js';
import { createMemoryCgroup, inCI, memoryCgroupUnavailableReason, V1_MEMORY_ROOT } from '../helpers/cgroup.js';

const MiB = 1024 * 1024;

t.test('our own cgroup on this host', async (t) => {
  const own = readFileSync('/proc/self/cgroup', 'utf8');
  const m = readContainerMemory();
  t.same(m.warnings, []);
  const v1 = /^\d+:(?:[^:]*,)?memory(?:,[^:]*)?:(.*)$/m.exec(own);
  if (v1 !== null) {
    t.equal(m.cgroupVersion, 1, 'memory controller is on a v1 hierarchy here');
  } else {
    t.equal(m.cgroupVersion, 2);
  }
  t.ok(m.cgroupPath !== undefined && m.cgroupPath.startsWith('/sys/fs/cgroup'), `cgroup dir ${m.cgroupPath}`);
  t.ok((m.usageBytes ?? 0) > 0, `usage ${m.usageBytes}`);
});

/** Starts `sleep` inside the cgroup and returns a procRoot whose self/ is that process. */
async function processIn(dir: string): Promise<{ child: ChildProcess; procRoot: string }> {
  const child = spawn('sh', ['-c', `echo $$ > ${dir}/cgroup.procs && exec sleep 60`], { stdio: 'ignore' });
  const pid = child.pid;
  if (pid === undefined) throw new Error('spawn failed');
  const cgroupName = dir.slice(V1_MEMORY_ROOT.length);
  for (let i = 0; i < 200; i++) {
    let text = '';
    try {
      text = readFileSync(`/proc/${pid}/cgroup`, 'utf8');
    } catch {
      /* not yet */
    }
    if (text.includes(`memory:${cgroupName}\n`)) break;
    await sleep(10);
  }
  const procRoot = mkdtempSync(join(tmpdir(), 'jm-proc-'));
  symlinkSync(`/proc/${pid}`, join(procRoot, 'self'));
  return { child, procRoot };
}

const unavailable = memoryCgroupUnavailableReason();
if (unavailable !== undefined && inCI()) t.fail(`CI requires real memory cgroups: ${unavailable}`);

t.test('a real 256 MiB cgroup v1 memory cgroup', { skip: unavailable ?? false }, async (t) => {
  const cg = createMemoryCgroup(256 * MiB, 'jm-cgroup-test');
  t.teardown(() => cg.remove());
  const inner = cg.child('inner');

  await t.test('process directly in the limited cgroup', async (t) => {
    const { child, procRoot } = await processIn(cg.dir);
    t.teardown(() => {
      child.kill('SIGKILL');
      rmSync(procRoot, { recursive: true, force: true });
    });
    const m = readContainerMemory({ procRoot });
    t.equal(m.cgroupVersion, 1);
    t.equal(m.limitBytes, 256 * MiB);
    t.equal(m.cgroupPath, cg.dir);
    t.type(m.usageBytes, 'number');
  });

  await t.test('process in an unlimited child cgroup: the parent limit applies', async (t) => {
    const { child, procRoot } = await processIn(inner.dir);
    t.teardown(() => {
      child.kill('SIGKILL');
      rmSync(procRoot, { recursive: true, force: true });
    });
    const m = readContainerMemory({ procRoot });
    t.ok(Number(readFileSync(join(inner.dir, 'memory.limit_in_bytes'), 'utf8')) >= totalmem(), 'the child itself is unlimited');
    t.equal(m.limitBytes, 256 * MiB);
    t.equal(m.cgroupPath, inner.dir);
  });
});
