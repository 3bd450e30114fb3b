import t from 'tap';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../../app/config/errors.js';
import { FileStateStore } from '../../app/checkpoints/state-store.js';
import type { JobStatusRecord } from '../../app/checkpoints/types.js';

const jid = (c: string): string => c.repeat(32);

function status(jobId: string, s: JobStatusRecord['status'], endTime = -1): JobStatusRecord {
  return { jobId, name: `job-${jobId.slice(0, 4)}`, status: s, startTime: 100, endTime, updatedAt: 200 };
}

t.test('a storage path under a regular file is refused with a ConfigError naming it', async (t) => {
  const dir = t.testdir({ 'not-a-dir': 'plain file' });
  const path = join(dir, 'not-a-dir', 'data');
  const err = await FileStateStore.open({ dir: path }).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.ok(err instanceof ConfigError, 'ConfigError');
  t.equal((err as ConfigError).exitCode, 78);
  t.match((err as ConfigError).message, path, 'names the path');
  t.match((err as ConfigError).message, /jobmanager\.storage\.dir/, 'names the key');
  t.match((err as ConfigError).message, /ENOTDIR/, 'names the errno');
  t.same((err as ConfigError).keys, ['jobmanager.storage.dir']);
});

/**
 * Makes `dir` unwritable in a way root respects too: a read-only tmpfs mount
 * (EROFS, like a read-only volume), else `chattr +i`, else (non-root) chmod.
 * Returns an undo function, or a reason why it is impossible here.
 */
function makeReadOnly(dir: string): { undo: () => void } | { skip: string } {
  const isRoot = process.getuid?.() === 0;
  if (!isRoot) {
    chmodSync(dir, 0o555);
    return { undo: () => chmodSync(dir, 0o755) };
  }
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', dir], { stdio: 'pipe' });
    return { undo: () => execFileSync('umount', [dir], { stdio: 'pipe' }) };
  } catch {
    /* try the next way */
  }
  try {
    execFileSync('chattr', ['+i', dir], { stdio: 'pipe' });
    return { undo: () => execFileSync('chattr', ['-i', dir], { stdio: 'pipe' }) };
  } catch (err) {
    return { skip: `running as root without mount or chattr +i permission (${(err as Error).message.split('\n')[0]})` };
  }
}

t.test('a read-only storage directory at boot is refused, naming the path', async (t) => {
  const dir = join(t.testdir(), 'ro');
  mkdirSync(dir);
  const ro = makeReadOnly(dir);
  if ('skip' in ro) {
    if (process.env.CI) t.fail(`cannot make a directory read-only: ${ro.skip}`);
    else t.plan(0, `cannot make a directory read-only: ${ro.skip}`);
    return;
  }
  let err: unknown;
  try {
    err = await FileStateStore.open({ dir }).then(
      () => undefined,
      (e: unknown) => e,
    );
  } finally {
    ro.undo(); // before tap removes the fixture directory
  }
  t.ok(err instanceof ConfigError, 'ConfigError');
  t.match((err as Error).message, `jobmanager.storage.dir (${dir}) is not a writable directory`);
  t.match((err as Error).message, /EROFS|EPERM|EACCES/, String(err));
});

t.test('JobGraphs and statuses survive a reopen; terminal jobs are archived and bounded', async (t) => {
  const dir = t.testdir();
  const s = await FileStateStore.open({ dir, maxArchivedJobs: 2 });
  t.same(readdirSync(dir), ['jobs'], 'no probe file left behind');
  for (const c of ['a', 'b', 'c', 'd', 'e']) await s.putJobGraph(jid(c), { name: `graph-${c}`, vertices: [] });
  await s.putJobStatus(status(jid('a'), 'RUNNING'));
  await s.putJobStatus(status(jid('b'), 'RESTARTING'));
  // c, d, e finish in order; capacity 2 keeps d and e.
  const chk = s.checkpointStore(jid('c'), 1);
  await chk.recover();
  await chk.reserveCheckpointId();
  await s.putJobStatus(status(jid('c'), 'FINISHED', 1000));
  t.notOk(existsSync(join(dir, 'jobs', jid('c'), 'checkpoint-counter.json')), 'checkpoints of a terminal job are discarded');
  await s.putJobStatus(status(jid('d'), 'CANCELED', 2000));
  await s.putJobStatus(status(jid('e'), 'FAILED', 3000));
  t.notOk(existsSync(join(dir, 'jobs', jid('c'))), 'oldest archived job removed beyond capacity');

  const reopened = await FileStateStore.open({ dir, maxArchivedJobs: 1 });
  const jobs = await reopened.recoverJobs();
  t.same(jobs.active.map((j) => j.jobId).sort(), [jid('a'), jid('b')]);
  t.same(jobs.active.find((j) => j.jobId === jid('a'))?.jobGraph, { name: 'graph-a', vertices: [] });
  t.same(jobs.archived.map((j) => j.jobId), [jid('e')], 'newest archived kept within the (smaller) capacity');
  t.same(jobs.problems, []);
  t.notOk(existsSync(join(dir, 'jobs', jid('d'))));
});

t.test('a job without status is recovered as submitted; junk is ignored; corrupt JobGraphs reported', async (t) => {
  const dir = t.testdir();
  const s = await FileStateStore.open({ dir });
  await s.putJobGraph(jid('1'), { name: 'one' });
  await s.putJobGraph(jid('2'), { name: 'two' });
  writeFileSync(join(dir, 'jobs', jid('2'), 'jobgraph.json'), '{"format":"jobmanager/jobgraph","version":1,"sha256":"00');
  mkdirSync(join(dir, 'jobs', 'not-a-job-id'));
  writeFileSync(join(dir, 'jobs', jid('1'), '.status.json.tmp-1-ab'), 'partial');
  const jobs = await (await FileStateStore.open({ dir })).recoverJobs();
  t.same(jobs.active.map((j) => [j.jobId, j.status]), [[jid('1'), undefined]]);
  t.equal(jobs.problems.length, 1);
  t.equal(jobs.problems[0]?.path, join(dir, 'jobs', jid('2'), 'jobgraph.json'));
  t.notOk(existsSync(join(dir, 'jobs', jid('1'), '.status.json.tmp-1-ab')), 'stale temp removed');
});

t.test('job ids that could escape the directory are refused', async (t) => {
  const s = await FileStateStore.open({ dir: t.testdir() });
  await t.rejects(s.putJobGraph('../../etc', {}), /32 lowercase hex/);
});
