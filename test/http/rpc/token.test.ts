import { mkdtempSync, readFileSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { bearerToken, createTokenVerifier, readTokenFile, resolveRpcToken, RpcTokenError } from '../../../app/http/rpc/token.js';

const tempDir = (): string => mkdtempSync(join(tmpdir(), 'rpc-token-'));

t.test('a configured token wins and touches no file', async (t) => {
  const dir = tempDir();
  const resolved = resolveRpcToken({ token: 's3cret', storageDir: dir });
  t.equal(resolved.token, 's3cret');
  t.equal(resolved.origin, 'config');
  t.equal(resolved.path, undefined);
});

t.test('no token: one is generated into <storage>/rpc-token with mode 0600, then reused', async (t) => {
  const dir = join(tempDir(), 'nested', 'storage');
  const first = resolveRpcToken({ storageDir: dir });
  t.equal(first.origin, 'generated');
  t.equal(first.path, join(dir, 'rpc-token'));
  t.ok(first.token.length >= 40, 'a 256-bit token');
  t.equal(statSync(first.path!).mode & 0o777, 0o600);
  t.equal(readFileSync(first.path!, 'utf8').trim(), first.token);
  const second = resolveRpcToken({ storageDir: dir });
  t.equal(second.origin, 'file');
  t.equal(second.token, first.token, 'reused across restarts');
  t.equal(readTokenFile(first.path!), first.token);
});

t.test('token-file: generated there when absent, read when present, warned when too open', async (t) => {
  const dir = tempDir();
  const file = join(dir, 'custom-token');
  const generated = resolveRpcToken({ tokenFile: file, storageDir: join(dir, 'unused') });
  t.equal(generated.path, file);
  writeFileSync(file, '  given-token \n');
  chmodSync(file, 0o644);
  const read = resolveRpcToken({ tokenFile: file, storageDir: dir });
  t.equal(read.token, 'given-token');
  t.match(read.warning, /mode 0644.*chmod 600/);
});

t.test('an empty token file is an error naming the file', async (t) => {
  const dir = tempDir();
  const file = join(dir, 'rpc-token');
  writeFileSync(file, '\n');
  t.throws(() => resolveRpcToken({ storageDir: dir }), { name: 'RpcTokenError', message: new RegExp(`${file}.*empty`) });
  t.throws(() => readTokenFile(join(dir, 'absent')), RpcTokenError);
});

t.test('verifier: equal tokens only, any length', async (t) => {
  const verify = createTokenVerifier('abc');
  t.ok(verify('abc'));
  t.notOk(verify('abd'));
  t.notOk(verify('ab'));
  t.notOk(verify('abcabc'));
  t.notOk(verify(''));
  t.notOk(verify(undefined));
});

t.test('bearer header parsing', async (t) => {
  t.equal(bearerToken('Bearer xyz'), 'xyz');
  t.equal(bearerToken('bearer  xyz '), 'xyz');
  t.equal(bearerToken('Basic xyz'), undefined);
  t.equal(bearerToken('Bearer'), undefined);
  t.equal(bearerToken(undefined), undefined);
});
