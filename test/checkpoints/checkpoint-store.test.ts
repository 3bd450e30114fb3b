import t from 'tap';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { StorageWriteError } from '../../app/checkpoints/atomic-file.js';
import { JobCheckpointStore, checkpointFileName } from '../../app/checkpoints/checkpoint-store.js';
import { nodeDurableFs } from '../../app/checkpoints/durable-fs.js';
import type { CompletedCheckpoint, DomainLogger } from '../../app/checkpoints/types.js';
import { FaultyFs } from './fakes.js';

const JOB = 'a'.repeat(32);

function checkpoint(id: number, handle = `h-${id}`): CompletedCheckpoint {
  return {
    jobId: JOB,
    checkpointId: id,
    triggerTimestamp: 1000 + id,
    ackCompletedTimestamp: 2000 + id,
    stateSizeBytes: 30,
    vertices: [
      { vertexId: 'source', stateHandles: [`${handle}/0`, `${handle}/1`], stateSizes: [10, 10] },
      { vertexId: 'sink', stateHandles: [null], stateSizes: [10] },
    ],
  };
}

function recordingLog(): DomainLogger & { errors: string[] } {
  const errors: string[] = [];
  return { errors, info: () => undefined, warn: () => undefined, error: (_o, msg) => errors.push(msg) };
}

function open(dir: string, retained = 2, fs = nodeDurableFs, log?: DomainLogger): JobCheckpointStore {
  return new JobCheckpointStore({ fs, jobDir: join(dir, 'jobs', JOB), jobId: JOB, retained, ...(log ? { log } : {}) });
}

t.test('checkpoint ids are monotonic and never reused across reopen', async (t) => {
  const dir = t.testdir();
  const ids: number[] = [];
  for (let round = 0; round < 4; round++) {
    const s = open(dir);
    const rec = await s.recover();
    t.equal(rec.nextCheckpointId, ids.length + 1, `round ${round}: counter resumes after the last handed-out id`);
    for (let i = 0; i < 3; i++) ids.push(await s.reserveCheckpointId());
  }
  t.same(ids, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
});

t.test('concurrent reservations get distinct ids', async (t) => {
  const s = open(t.testdir());
  const ids = await Promise.all(Array.from({ length: 20 }, () => s.reserveCheckpointId()));
  t.same([...ids].sort((a, b) => a - b), Array.from({ length: 20 }, (_, i) => i + 1));
});

t.test('a failed counter write burns the id (it may have reached the disk)', async (t) => {
  const dir = t.testdir();
  const fs = new FaultyFs(nodeDurableFs);
  const s = open(dir, 2, fs);
  await s.recover();
  t.equal(await s.reserveCheckpointId(), 1);
  fs.fail('fsync', 'EIO', (p) => p.includes('checkpoint-counter'));
  await t.rejects(s.reserveCheckpointId(), StorageWriteError);
  t.equal(await s.reserveCheckpointId(), 3, 'id 2 is never handed out');
  const reopened = open(dir);
  t.equal((await reopened.recover()).nextCheckpointId, 4);
});

t.test('retention keeps the newest N, deleting older ones after the new one is durable', async (t) => {
  const dir = t.testdir();
  const s = open(dir, 2);
  await s.recover();
  t.same(await s.addCompleted(checkpoint(1)), []);
  t.same(await s.addCompleted(checkpoint(2)), []);
  t.same(await s.addCompleted(checkpoint(3)), [1]);
  t.same(await s.addCompleted(checkpoint(4)), [2]);
  t.same(s.all().map((c) => c.checkpointId), [3, 4]);
  t.same(readdirSync(join(dir, 'jobs', JOB, 'checkpoints')).sort(), ['chk-3.json', 'chk-4.json']);
  const reopened = open(dir, 2);
  const rec = await reopened.recover();
  t.same(rec.completed.map((c) => c.checkpointId), [3, 4]);
  t.same(rec.completed[1], checkpoint(4), 'metadata round-trips exactly');
  t.equal(reopened.latest()?.checkpointId, 4);
});

t.test('recovery prunes beyond retained (crash between write and delete)', async (t) => {
  const dir = t.testdir();
  const s = open(dir, 5);
  await s.recover();
  for (let i = 1; i <= 5; i++) await s.addCompleted(checkpoint(i));
  const reopened = open(dir, 2);
  const rec = await reopened.recover();
  t.same(rec.completed.map((c) => c.checkpointId), [4, 5]);
  t.same(readdirSync(join(dir, 'jobs', JOB, 'checkpoints')).sort(), ['chk-4.json', 'chk-5.json']);
});

for (const step of ['open', 'partial-write', 'fsync', 'rename', 'fsync-dir'] as const) {
  t.test(`a metadata write failing at ${step} leaves nothing visible; the next one succeeds`, async (t) => {
    const dir = t.testdir();
    const fs = new FaultyFs(nodeDurableFs);
    const s = open(dir, 2, fs);
    await s.recover();
    await s.addCompleted(checkpoint(1));
    // The directory fsync is keyed by the directory, the other steps by the file.
    fs.fail(step, 'ENOSPC', (p) => (step === 'fsync-dir' ? p.endsWith('checkpoints') : p.includes('chk-2')));
    const err = await s.addCompleted(checkpoint(2)).then(
      () => undefined,
      (e: unknown) => e,
    );
    t.ok(err instanceof StorageWriteError, 'StorageWriteError');
    t.match((err as Error).message, /chk-2\.json/, 'names the file');
    t.match((err as Error).message, /ENOSPC/, 'names the errno');
    t.same(s.all().map((c) => c.checkpointId), [1], 'retained set unchanged');
    t.same(readdirSync(join(dir, 'jobs', JOB, 'checkpoints')), ['chk-1.json'], 'no partial or temp file visible');
    await s.addCompleted(checkpoint(3));
    const rec = await open(dir, 2).recover();
    t.same(rec.completed.map((c) => c.checkpointId), [1, 3]);
  });
}

t.test('a corrupt metadata file is reported, quarantined, and the previous retained checkpoint is used', async (t) => {
  const dir = t.testdir();
  const s = open(dir, 3);
  await s.recover();
  for (let i = 1; i <= 3; i++) await s.addCompleted(checkpoint(i));
  const chkDir = join(dir, 'jobs', JOB, 'checkpoints');
  const p3 = join(chkDir, checkpointFileName(3));
  const text = readFileSync(p3, 'utf8');
  writeFileSync(p3, text.slice(0, Math.floor(text.length / 2))); // torn write

  const log = recordingLog();
  const reopened = open(dir, 3, nodeDurableFs, log);
  const rec = await reopened.recover();
  t.same(rec.completed.map((c) => c.checkpointId), [1, 2], 'only valid ones loaded');
  t.equal(reopened.latest()?.checkpointId, 2, 'previous retained checkpoint is the latest');
  t.equal(rec.corrupt.length, 1);
  t.equal(rec.corrupt[0]?.path, p3, 'reports the path');
  t.equal(rec.corrupt[0]?.checkpointId, 3);
  t.match(rec.corrupt[0]?.reason ?? '', /not valid JSON/);
  t.ok(existsSync(p3 + '.corrupt'), 'moved aside for inspection');
  t.notOk(existsSync(p3));
  t.equal(log.errors.length, 1, 'logged once');
  t.match(log.errors[0], p3);
  t.ok(rec.nextCheckpointId >= 4, 'id of the corrupt checkpoint is never reused');
  // The next boot no longer reports it.
  const again = await open(dir, 3).recover();
  t.same(again.corrupt, []);
});

t.test('a checkpoint file of the wrong job or with an inconsistent id is rejected', async (t) => {
  const dir = t.testdir();
  const other = new JobCheckpointStore({ fs: nodeDurableFs, jobDir: join(dir, 'jobs', JOB), jobId: 'b'.repeat(32), retained: 2 });
  await other.recover();
  await other.addCompleted({ ...checkpoint(1), jobId: 'b'.repeat(32) });
  const rec = await open(dir).recover();
  t.same(rec.completed, []);
  t.match(rec.corrupt[0]?.reason ?? '', /belongs to job/);
});

t.test('a corrupt counter falls back after the highest id on disk', async (t) => {
  const dir = t.testdir();
  const s = open(dir, 2);
  await s.recover();
  for (let i = 0; i < 5; i++) await s.reserveCheckpointId();
  await s.addCompleted(checkpoint(4));
  writeFileSync(join(dir, 'jobs', JOB, 'checkpoint-counter.json'), '{"format":"jobmanager/checkpoint-counter","vers');
  const log = recordingLog();
  const rec = await open(dir, 2, nodeDurableFs, log).recover();
  t.equal(rec.nextCheckpointId, 5);
  t.equal(rec.corrupt.length, 1);
  t.match(log.errors[0], /checkpoint-counter\.json is corrupt/);
});

t.test('stale temp files from a crash are ignored and removed', async (t) => {
  const dir = t.testdir();
  const s = open(dir, 2);
  await s.recover();
  await s.addCompleted(checkpoint(1));
  const chkDir = join(dir, 'jobs', JOB, 'checkpoints');
  writeFileSync(join(chkDir, '.chk-2.json.tmp-999-deadbeef'), '{"format":"jobmanager/completed-checkpoint","ver');
  const rec = await open(dir, 2).recover();
  t.same(rec.completed.map((c) => c.checkpointId), [1]);
  t.same(rec.corrupt, []);
  t.same(readdirSync(chkDir), ['chk-1.json']);
});

t.test('discardAll removes checkpoints and counter', async (t) => {
  const dir = t.testdir();
  const s = open(dir, 2);
  await s.recover();
  await s.reserveCheckpointId();
  await s.addCompleted(checkpoint(1));
  await s.discardAll();
  t.same(readdirSync(join(dir, 'jobs', JOB)), []);
  t.equal(s.latest(), undefined);
});
