// A JobManager that can be kill -9'd and restarted on the same storage
// directory and RPC port (so simulators find it again), for the checkpoint
// end-to-end tests. Needs a build (dist/).
import { createServer } from 'node:net';
import { kill, launch, type Launched } from '../helpers/launcher.js';
import type { RunningJobManager } from './cluster-harness.js';

type Teardown = (fn: () => unknown) => void;

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

export interface RestartableJobManager {
  readonly storageDir: string;
  readonly rpcUrl: string;
  /** For cluster-harness.startSimulator (it reads rpcUrl and storageDir). */
  readonly simTarget: RunningJobManager;
  launched(): Launched;
  boot(): Promise<void>;
  killHard(): Promise<{ stdout: string }>;
  get<T = any>(path: string): Promise<{ status: number; body: T }>;
  send<T = any>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
}

export async function restartableJobManager(teardown: Teardown, storageDir: string, extraArgs: readonly string[] = []): Promise<RestartableJobManager> {
  const rpcPort = await freePort();
  const rpcUrl = `http://127.0.0.1:${rpcPort}`;
  const args = [
    '--rest.port=0',
    `--jobmanager.rpc.port=${rpcPort}`,
    `--jobmanager.storage.dir=${storageDir}`,
    '--jobmanager.process.memory.size=512m',
    '--heartbeat.interval=200ms',
    '--heartbeat.timeout=1500ms',
    '--restart-strategy.fixed-delay.delay=100ms',
    ...extraArgs,
  ];
  let current: Launched | undefined;
  let restUrl = '';
  teardown(async () => {
    if (current) {
      kill(current);
      await current.exit;
    }
  });
  const send = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${restUrl}${path}`, {
      method,
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
    const text = await res.text();
    return { status: res.status, body: text.length > 0 ? JSON.parse(text) : undefined };
  };
  return {
    storageDir,
    rpcUrl,
    simTarget: { rpcUrl, storageDir } as RunningJobManager,
    launched: () => {
      if (!current) throw new Error('not booted');
      return current;
    },
    async boot() {
      current = launch({ args });
      restUrl = await current.restUrl;
    },
    async killHard() {
      if (!current) throw new Error('not booted');
      current.child.kill('SIGKILL');
      const exit = await current.exit;
      return { stdout: exit.stdout };
    },
    get: (path) => send('GET', path),
    send,
  };
}
