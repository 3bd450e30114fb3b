// Real processes for the cluster and checkpoint end-to-end tests: the
// JobManager through bin/jobmanager (a storage dir, short heartbeats) - either
// once on ephemeral ports, or restartable (kill -9 and boot again on the same
// storage directory and RPC port, so simulators find it again) - and
// TaskManager simulators through dist/cli.js. Needs a build.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { kill, launch, ROOT, type Launched } from '../helpers/launcher.js';

export { distMissingReason } from '../helpers/launcher.js';

type Teardown = (fn: () => unknown) => void;
type Exit = Awaited<Launched['exit']>;

/** What a simulator needs of its JobManager: where to register, where the RPC token is. */
export interface SimulatorTarget {
  readonly rpcUrl: string;
  readonly storageDir: string;
}

/** JSON over the JobManager's REST API (an empty body reads as undefined). */
export interface RestClient {
  get<T = any>(path: string): Promise<{ status: number; body: T }>;
  send<T = any>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
}

export interface RunningJobManager extends SimulatorTarget, RestClient {
  readonly launched: Launched;
  readonly restUrl: string;
}

export interface RestartableJobManager extends SimulatorTarget, RestClient {
  launched(): Launched;
  boot(): Promise<void>;
  /** SIGKILL, then the exit (signal, stdout of the lifetime that ended). */
  killHard(): Promise<Exit>;
}

function jobManagerArgs(rpcPort: number, storageDir: string, restartDelay: string, extraArgs: readonly string[]): string[] {
  return [
    '--rest.port=0',
    `--jobmanager.rpc.port=${rpcPort}`,
    `--jobmanager.storage.dir=${storageDir}`,
    '--jobmanager.process.memory.size=512m',
    '--heartbeat.interval=200ms',
    '--heartbeat.timeout=1500ms',
    `--restart-strategy.fixed-delay.delay=${restartDelay}`,
    ...extraArgs,
  ];
}

/** restUrl is read at each call: a restarted JobManager listens on a new REST port. */
function restClient(restUrl: () => string): RestClient {
  const send = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${restUrl()}${path}`, {
      method,
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
    const text = await res.text();
    return { status: res.status, body: text.length > 0 ? JSON.parse(text) : undefined };
  };
  return { get: (path) => send('GET', path), send };
}

/** A JobManager on ephemeral ports with its own temp storage dir, removed in teardown. */
export async function startJobManager(teardown: Teardown, extraArgs: readonly string[] = []): Promise<RunningJobManager> {
  const storageDir = mkdtempSync(join(tmpdir(), 'jm-e2e-storage-'));
  const launched = launch({ args: jobManagerArgs(0, storageDir, '200ms', extraArgs) });
  teardown(async () => {
    kill(launched);
    await launched.exit;
    rmSync(storageDir, { recursive: true, force: true });
  });
  const restUrl = await launched.restUrl;
  const rpcUrl = rpcAddressFrom(launched.stdout());
  return { launched, restUrl, rpcUrl, storageDir, ...restClient(() => restUrl) };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** A JobManager to kill -9 and boot again on `storageDir` and a fixed RPC port; call boot() to start it. */
export async function restartableJobManager(teardown: Teardown, storageDir: string, extraArgs: readonly string[] = []): Promise<RestartableJobManager> {
  const rpcPort = await freePort();
  const args = jobManagerArgs(rpcPort, storageDir, '100ms', extraArgs);
  let current: Launched | undefined;
  let restUrl = '';
  teardown(async () => {
    if (current) {
      kill(current);
      await current.exit;
    }
  });
  const launched = (): Launched => {
    if (!current) throw new Error('not booted');
    return current;
  };
  return {
    storageDir,
    rpcUrl: `http://127.0.0.1:${rpcPort}`,
    launched,
    async boot() {
      current = launch({ args });
      restUrl = await current.restUrl;
    },
    async killHard() {
      const l = launched();
      l.child.kill('SIGKILL');
      return l.exit;
    },
    ...restClient(() => restUrl),
  };
}

function rpcAddressFrom(stdout: string): string {
  for (const line of stdout.split('\n')) {
    try {
      const record = JSON.parse(line) as { rpcAddress?: unknown };
      if (typeof record.rpcAddress === 'string') return record.rpcAddress;
    } catch {
      /* not JSON */
    }
  }
  throw new Error(`the JobManager did not log its rpcAddress; stdout:\n${stdout}`);
}

export interface RunningSimulator {
  readonly child: ChildProcess;
  readonly idPrefix: string;
  output(): string;
}

export function startSimulator(
  teardown: Teardown,
  jm: SimulatorTarget,
  opts: { idPrefix: string; count: number; slots: number },
): RunningSimulator {
  const child = spawn(process.execPath, [
    join(ROOT, 'dist', 'cli.js'), 'taskmanager-sim',
    '--jobmanager', jm.rpcUrl,
    '--count', String(opts.count),
    '--slots', String(opts.slots),
    '--storage-dir', jm.storageDir, // reads <storage>/rpc-token as a local TaskManager would
    '--id-prefix', opts.idPrefix,
  ], { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' } });
  let out = '';
  child.stdout?.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr?.setEncoding('utf8').on('data', (c: string) => (out += c));
  teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return { child, idPrefix: opts.idPrefix, output: () => out };
}

/** Polls until `check` returns a value (not undefined); bounded attempts, no timing assertion. */
// Generous bounds: the whole suite shares 2 cores, and these are not speed tests.
export async function until<T>(what: string, check: () => Promise<T | undefined>, attempts = 600, delayMs = 100): Promise<T> {
  let last: unknown;
  for (let i = 0; i < attempts; i++) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    await sleep(delayMs);
  }
  throw new Error(`gave up waiting for ${what}${last instanceof Error ? ` (last error: ${last.message})` : ''}`);
}
