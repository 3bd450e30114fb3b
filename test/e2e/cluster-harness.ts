// Real processes for the cluster end-to-end tests: the JobManager through
// bin/jobmanager (ephemeral REST and RPC ports, a temp storage dir, short
// heartbeats) and TaskManager simulators through dist/cli.js. Needs a build.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { kill, launch, ROOT, type Launched } from '../helpers/launcher.js';

export { distMissingReason } from '../helpers/launcher.js';

type Teardown = (fn: () => unknown) => void;

export interface RunningJobManager {
  readonly launched: Launched;
  readonly restUrl: string;
  readonly rpcUrl: string;
  readonly storageDir: string;
  get<T = any>(path: string): Promise<{ status: number; body: T }>;
  send<T = any>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
}

export async function startJobManager(teardown: Teardown, extraArgs: readonly string[] = []): Promise<RunningJobManager> {
  const storageDir = mkdtempSync(join(tmpdir(), 'jm-e2e-storage-'));
  const launched = launch({
    args: [
      '--rest.port=0',
      '--jobmanager.rpc.port=0',
      `--jobmanager.storage.dir=${storageDir}`,
      '--jobmanager.process.memory.size=512m',
      '--heartbeat.interval=200ms',
      '--heartbeat.timeout=1500ms',
      '--restart-strategy.fixed-delay.delay=200ms',
      ...extraArgs,
    ],
  });
  teardown(async () => {
    kill(launched);
    await launched.exit;
    rmSync(storageDir, { recursive: true, force: true });
  });
  const restUrl = await launched.restUrl;
  const rpcUrl = rpcAddressFrom(launched.stdout());
  const send = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${restUrl}${path}`, {
      method,
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
    const text = await res.text();
    return { status: res.status, body: text.length > 0 ? JSON.parse(text) : undefined };
  };
  return { launched, restUrl, rpcUrl, storageDir, get: (path) => send('GET', path), send };
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
  jm: RunningJobManager,
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
