// JobManager restart recovery and storage faults with real processes:
// - a corrupted (torn) newest checkpoint file is reported and the previous
//   retained checkpoint is used; a cancelled job is remembered as archived;
// - (root, tmpfs) a full disk during a checkpoint fails only that checkpoint
//   with ENOSPC named, the job keeps running, and once space is back the next
//   checkpoint completes.
import t, { type Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { distMissingReason, restartableJobManager, startSimulator, until, type RunningSimulator } from './cluster-harness.js';

const restoredIds = (sim: RunningSimulator, jobId: string): number[] =>
  sim.output().split('\n').flatMap((l) => {
    try {
      const r = JSON.parse(l) as { event?: string; jobId?: string; checkpointId?: number };
      return r.event === 'task-restored' && r.jobId === jobId ? [r.checkpointId!] : [];
    } catch {
      return [];
    }
  });

const job = (parallelism: number, retained: number) => ({
  name: 'recovery',
  vertices: [
    { id: 'source', name: 'Source', parallelism },
    { id: 'sink', name: 'Sink', parallelism },
  ],
  edges: [{ source: 'source', target: 'sink', distribution: 'POINTWISE' }],
  checkpointing: { interval: 200, timeout: 5000, retained },
  restartStrategy: { type: 'fixed-delay', attempts: 100, delay: 100 },
});

const missing = distMissingReason();
if (missing !== undefined) {
  if (process.env['CI']) throw new Error(missing);
  t.plan(0, `needs a build: ${missing}`);
} else {
  t.test('a corrupt newest checkpoint is reported and the previous retained one is used; cancelled jobs stay archived', async (t) => {
    const jm = await restartableJobManager(t.teardown.bind(t), t.testdir());
    await jm.boot();
    const sim = startSimulator(t.teardown.bind(t), jm, { idPrefix: 'rec', count: 1, slots: 2 });
    await until('registered', async () => ((await jm.get('/overview')).body.taskmanagers === 1 ? true : undefined));
    const jobid: string = (await jm.send('POST', '/jobs', job(2, 3))).body.jobid;
    await until('3 checkpoints completed', async () => ((await jm.get(`/jobs/${jobid}/checkpoints`)).body.counts?.completed >= 3 ? true : undefined));
    await jm.killHard();

    const chkDir = join(jm.storageDir, 'jobs', jobid, 'checkpoints');
    const ids = readdirSync(chkDir).flatMap((n) => /^chk-(\d+)\.json$/.exec(n)?.[1] ?? []).map(Number).sort((a, b) => a - b);
    t.equal(ids.length, 3, 'three retained');
    const newest = ids[2]!;
    const previous = ids[1]!;
    const newestPath = join(chkDir, `chk-${newest}.json`);
    const text = readFileSync(newestPath, 'utf8');
    writeFileSync(newestPath, text.slice(0, Math.floor(text.length * 0.6))); // a torn write

    const restoresBefore = restoredIds(sim, jobid).length;
    await jm.boot();
    const stats = await until('resumed', async () => {
      const s = (await jm.get(`/jobs/${jobid}/checkpoints`)).body;
      return s?.latest?.restored ? s : undefined;
    }, 300);
    t.equal(stats.latest.restored.id, previous, `restored from the previous retained checkpoint ${previous}, not the corrupt ${newest}`);
    const failed = (stats.history as { id: number; status: string; failure_message?: string }[]).find((h) => h.id === newest);
    t.equal(failed?.status, 'FAILED', 'the corrupt checkpoint is shown as failed');
    t.match(failed?.failure_message ?? '', `metadata file ${newestPath} is corrupt`);
    t.match(jm.launched().stdout(), newestPath, 'and logged with its path');
    t.ok(existsSync(`${newestPath}.corrupt`), 'moved aside for inspection');
    await until('simulator restored', async () => (restoredIds(sim, jobid).length >= restoresBefore + 4 ? true : undefined));
    t.same([...new Set(restoredIds(sim, jobid).slice(restoresBefore))], [previous], 'the TaskManager restored exactly that checkpoint');
    await until('new checkpoints above the corrupt id', async () => {
      const s = (await jm.get(`/jobs/${jobid}/checkpoints`)).body;
      return s.latest.completed?.id > newest ? true : undefined;
    });

    // Cancel, restart: the job is remembered as archived, not run again.
    t.equal((await jm.send('PATCH', `/jobs/${jobid}?mode=cancel`)).status, 202);
    await until('CANCELED', async () => ((await jm.get(`/jobs/${jobid}`)).body.state === 'CANCELED' ? true : undefined));
    await until('status durable', async () => (readFileSync(join(jm.storageDir, 'jobs', jobid, 'status.json'), 'utf8').includes('"CANCELED"') ? true : undefined));
    t.notOk(existsSync(chkDir), 'checkpoints of the cancelled job discarded');
    await jm.killHard();
    await jm.boot();
    t.same((await jm.get('/jobs')).body.jobs, [{ id: jobid, status: 'CANCELED' }]);
    t.equal((await jm.get('/overview')).body['jobs-cancelled'], 1);
    t.equal((await jm.get(`/jobs/${jobid}`)).body.state, 'CANCELED');
  });

  t.test('a full disk fails only the checkpoint being written; the job keeps running; the next one succeeds', async (t) => {
    // Outside tap's fixture dir: it must be unmounted before anything removes it.
    const dir = mkdtempSync(join(tmpdir(), 'jm-e2e-tmpfs-'));
    const canMount = process.getuid?.() === 0 && (() => {
      try {
        execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir], { stdio: 'pipe' });
        return true;
      } catch {
        return false;
      }
    })();
    if (!canMount) {
      rmSync(dir, { recursive: true, force: true });
      const why = 'needs root and mount -t tmpfs to fill a small file system';
      if (process.env['CI']) t.fail(why);
      else t.plan(0, why);
      return;
    }
    const unmount = () => {
      try {
        execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
      } catch {
        /* already gone */
      }
      rmSync(dir, { recursive: true, force: true });
    };
    try {
      await fullDisk(t, dir);
    } finally {
      unmount();
    }
  });
}

async function fullDisk(t: Test, dir: string): Promise<void> {
  const jm = await restartableJobManager(t.teardown.bind(t), dir);
  await jm.boot();
  const sim = startSimulator(t.teardown.bind(t), jm, { idPrefix: 'full', count: 1, slots: 64 });
  try {
    await until('registered', async () => ((await jm.get('/overview')).body.taskmanagers === 1 ? true : undefined));
    // 128 subtasks: a checkpoint file needs several pages, the counter one page.
    const jobid: string = (await jm.send('POST', '/jobs', job(64, 1))).body.jobid;
    const first = await until('a checkpoint completed', async () => {
      const s = (await jm.get(`/jobs/${jobid}/checkpoints`)).body;
      return s.latest?.completed ? s : undefined;
    });
    const chkBytes = statSync(first.latest.completed.external_path).size;
    t.ok(chkBytes > 3 * 4096, `a checkpoint file takes ${chkBytes} bytes`);

    // Fill the file system, then give back two pages: enough for the counter and status, not for a checkpoint.
    const filler = join(dir, 'filler');
    try {
      execFileSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=4096'], { stdio: 'pipe' });
    } catch {
      /* dd stops with ENOSPC: that is the point */
    }
    execFileSync('truncate', ['-s', `-${2 * 4096}`, filler]);
    const failed = await until('a checkpoint failed with ENOSPC', async () => {
      const s = (await jm.get(`/jobs/${jobid}/checkpoints`)).body;
      return /ENOSPC/.test(s.latest?.failed?.failure_message ?? '') ? s : undefined;
    });
    t.match(failed.latest.failed.failure_message, /could not write .*chk-\d+\.json .*ENOSPC/, 'names the file and the errno');
    const failedId: number = failed.latest.failed.id;
    t.notOk(readdirSync(join(dir, 'jobs', jobid, 'checkpoints')).some((n) => n === `chk-${failedId}.json` || n.includes('.tmp-')), 'nothing partial visible');
    t.equal((await jm.get(`/jobs/${jobid}`)).body.state, 'RUNNING', 'the job keeps running');

    rmSync(filler);
    const next = await until('the next checkpoint completed', async () => {
      const s = (await jm.get(`/jobs/${jobid}/checkpoints`)).body;
      return s.latest?.completed?.id > failedId ? s : undefined;
    });
    t.ok(next.latest.completed.id > failedId, `checkpoint ${next.latest.completed.id} completed after space came back`);
    t.equal((await jm.get(`/jobs/${jobid}`)).body.state, 'RUNNING');
  } finally {
    await jm.killHard().catch(() => undefined);
    if (sim.child.exitCode === null && sim.child.signalCode === null) sim.child.kill('SIGKILL');
  }
}
