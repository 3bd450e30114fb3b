import t from 'tap';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CorruptFileError,
  StorageWriteError,
  decodeEnvelope,
  encodeEnvelope,
  isTempFileName,
  readVerified,
  writeAtomic,
} from '../../app/checkpoints/atomic-file.js';
import { nodeDurableFs } from '../../app/checkpoints/durable-fs.js';
import { FaultyFs, type FaultStep } from './fakes.js';

const FORMAT = 'test/thing';

t.test('round trip through a real directory', async (t) => {
  const dir = t.testdir();
  const path = join(dir, 'a.json');
  await writeAtomic(nodeDurableFs, path, FORMAT, { n: 1, s: 'ü "quoted"', list: [1.5, -0, 1e21] });
  t.same(await readVerified(nodeDurableFs, path, FORMAT), { n: 1, s: 'ü "quoted"', list: [1.5, 0, 1e21] });
  t.equal(await readVerified(nodeDurableFs, join(dir, 'missing.json'), FORMAT), undefined, 'absent file reads as undefined');
  t.same(readdirSync(dir), ['a.json'], 'no temp file left behind');
});

t.test('corruption is detected and names the path', async (t) => {
  const dir = t.testdir();
  const path = join(dir, 'c.json');
  await writeAtomic(nodeDurableFs, path, FORMAT, { checkpointId: 7, handles: ['x', 'y'] });
  const good = readFileSync(path, 'utf8');

  const cases: [string, string | Buffer, RegExp][] = [
    ['truncated', good.slice(0, good.length - 10), /not valid JSON/],
    ['empty', '', /empty file/],
    ['payload edited', good.replace('"x"', '"z"'), /checksum mismatch/],
    ['wrong format', good.replace(FORMAT, 'other/format'), /format is "other\/format"/],
    ['not an envelope', '[1,2,3]', /not an envelope/],
    ['bad sha', good.replace(/"sha256":"[0-9a-f]+"/, '"sha256":"abc"'), /malformed sha256/],
    ['binary garbage', Buffer.from([0xff, 0x00, 0x13]), /not valid JSON/],
  ];
  for (const [name, content, re] of cases) {
    writeFileSync(path, content);
    await t.rejects(readVerified(nodeDurableFs, path, FORMAT), CorruptFileError, name);
    try {
      await readVerified(nodeDurableFs, path, FORMAT);
    } catch (err) {
      t.match((err as CorruptFileError).message, re, `${name}: reason`);
      t.equal((err as CorruptFileError).path, path, `${name}: names the path`);
    }
  }
});

t.test('every byte flip of an envelope is detected or harmless', async (t) => {
  const text = encodeEnvelope(FORMAT, { id: 3, h: ['abc', null], s: [10, 20] });
  let detected = 0;
  for (let i = 0; i < text.length - 1; i++) {
    const b = Buffer.from(text);
    b[i] = b[i]! ^ 0x01;
    try {
      const payload = decodeEnvelope('/x', FORMAT, b);
      // A flip can only survive if it is outside the payload and the checksum, e.g. whitespace;
      // the payload itself must be unchanged.
      t.same(payload, { id: 3, h: ['abc', null], s: [10, 20] }, `flip at ${i} did not change the payload`);
    } catch (err) {
      t.ok(err instanceof CorruptFileError, `flip at ${i} -> CorruptFileError`);
      detected++;
    }
  }
  t.ok(detected > text.length * 0.9, `most flips detected (${detected}/${text.length - 1})`);
});

// Kill simulation: a fault at any step of the write leaves the previous
// version readable (or no file), never a partial one; the temp file is gone.
const STEPS: FaultStep[] = ['open', 'write', 'partial-write', 'fsync', 'close', 'rename', 'fsync-dir'];
for (const step of STEPS) {
  t.test(`fault at ${step}: old version or new version, never partial`, async (t) => {
    const dir = t.testdir();
    const path = join(dir, 'chk.json');
    const fs = new FaultyFs(nodeDurableFs);
    await writeAtomic(fs, path, FORMAT, { version: 'old' });
    fs.fail(step, step === 'partial-write' ? 'ENOSPC' : 'EIO');
    const err = await writeAtomic(fs, path, FORMAT, { version: 'new', pad: 'x'.repeat(10_000) }).then(
      () => undefined,
      (e: unknown) => e,
    );
    t.ok(err instanceof StorageWriteError, 'a StorageWriteError');
    const swe = err as StorageWriteError;
    t.equal(swe.path, path, 'names the target path');
    t.equal(swe.step, step === 'partial-write' ? 'write' : step, 'names the step');
    t.match(swe.message, step === 'partial-write' ? /ENOSPC/ : /EIO/, 'names the errno');
    const after = (await readVerified(nodeDurableFs, path, FORMAT)) as { version: string } | undefined;
    if (step === 'fsync-dir') {
      // The rename happened: the complete new file is visible (its data was fsynced).
      t.equal(after?.version, 'new', 'new version visible after a failed directory fsync');
    } else {
      t.equal(after?.version, 'old', 'old version still there');
    }
    t.same(readdirSync(dir).filter(isTempFileName), [], 'temp file removed');
    // And the next write succeeds.
    await writeAtomic(fs, path, FORMAT, { version: 'next' });
    t.equal(((await readVerified(nodeDurableFs, path, FORMAT)) as { version: string }).version, 'next');
  });
}

t.test('temp file names are recognisable and never the target name', async (t) => {
  t.ok(isTempFileName('.chk-1.json.tmp-123-abcd'));
  t.notOk(isTempFileName('chk-1.json'));
  t.notOk(isTempFileName('.hidden'));
});
