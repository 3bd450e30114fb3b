// `taskmanager-sim` argument parsing: defaults, the token sources, and usage
// errors that name the option (exit 64 through app/cli.ts).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { parseTaskManagerSimArgs } from '../../app/cli/taskmanager-sim.js';
import { CliUsageError } from '../../app/cli/context.js';

const storage = mkdtempSync(join(tmpdir(), 'sim-cli-'));
writeFileSync(join(storage, 'rpc-token'), 'from-storage\n', { mode: 0o600 });

t.test('defaults; the token from <storage dir>/rpc-token', async (t) => {
  const o = parseTaskManagerSimArgs(['--storage-dir', storage], {});
  t.match(o, { jobManagerUrl: 'http://127.0.0.1:6123', count: 1, slots: 4, token: 'from-storage', bindHost: '127.0.0.1', port: 0 });
  t.equal(parseTaskManagerSimArgs([], { JOBMANAGER_STORAGE_DIR: storage })?.token, 'from-storage');
});

t.test('token precedence: --token, env, --token-file', async (t) => {
  const file = join(storage, 'other');
  writeFileSync(file, 'from-file');
  t.equal(parseTaskManagerSimArgs(['--token', 'given', '--token-file', file], { JOBMANAGER_RPC_AUTH_TOKEN: 'env' })?.token, 'given');
  t.equal(parseTaskManagerSimArgs(['--token-file', file], { JOBMANAGER_RPC_AUTH_TOKEN: 'env' })?.token, 'env');
  t.equal(parseTaskManagerSimArgs(['--token-file', file], {})?.token, 'from-file');
  t.equal(parseTaskManagerSimArgs([], { JOBMANAGER_RPC_AUTH_TOKEN_FILE: file })?.token, 'from-file');
});

t.test('options', async (t) => {
  const o = parseTaskManagerSimArgs(['--jobmanager', 'http://10.0.0.1:7000', '--count', '20', '--slots', '1000', '--token', 'x', '--bind', '0.0.0.0', '--port', '4000', '--id-prefix', 'tm'], {});
  t.match(o, { jobManagerUrl: 'http://10.0.0.1:7000', count: 20, slots: 1000, bindHost: '0.0.0.0', port: 4000, idPrefix: 'tm' });
  t.equal(parseTaskManagerSimArgs(['--help'], {}), undefined);
  t.equal(parseTaskManagerSimArgs(['--token', 'x', '--bind', '0.0.0.0', '--advertise', '10.1.2.3'], {})?.advertisedHost, '10.1.2.3');
  t.equal(parseTaskManagerSimArgs(['--token', 'x'], { TASKMANAGER_HOST: 'pod-ip' })?.advertisedHost, 'pod-ip');
});

t.test('usage errors name the option and what is accepted', async (t) => {
  const cases: [string[], RegExp][] = [
    [['--count', '0', '--token', 'x'], /--count must be an integer in \[1, 10000\], got "0"/],
    [['--slots', 'many', '--token', 'x'], /--slots must be an integer/],
    [['--port', '70000', '--token', 'x'], /--port must be an integer in \[0, 65535\]/],
    [['--jobmanager', 'localhost:6123', '--token', 'x'], /--jobmanager must (be a URL|use http)/],
    [['--jobmanager', 'ftp://x', '--token', 'x'], /--jobmanager must use http:\/\/ or https:\/\//],
    [['--colour', 'red'], /taskmanager-sim: .*colour/],
    [['--storage-dir', join(storage, 'nowhere')], /rpc-token does not exist \(start the JobManager first, or pass --token\)/],
  ];
  for (const [args, message] of cases) {
    let caught: unknown;
    try {
      parseTaskManagerSimArgs(args, {});
    } catch (err) {
      caught = err;
    }
    t.ok(caught instanceof CliUsageError, `${args.join(' ')}: a usage error`);
    t.match((caught as CliUsageError).message, message, args.join(' '));
    t.match((caught as CliUsageError).usage, /Usage: jobmanager taskmanager-sim/);
  }
});
