// A real-process cluster for the over-RPC benchmarks: the JobManager through
// bin/jobmanager (so with its memory plan's V8 flags) and one simulator process
// hosting the TaskManagers, talked to over REST like an operator would.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function startProcess(command, args, onLine) {
  // A minimal environment so a developer's JOBMANAGER_* variables cannot change the plan measured.
  const child = spawn(command, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH, NODE: process.execPath } });
  let pending = '';
  child.stdout.setEncoding('utf8').on('data', (chunk) => {
    pending += chunk;
    let nl;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      onLine?.(line);
    }
  });
  child.stderr.resume();
  return child;
}

/** Polls fn (a rejection counts as "not yet") until it returns something other than undefined. */
export async function until(what, fn, attempts, delayMs) {
  for (let i = 0; i < attempts; i++) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    await sleep(delayMs);
  }
  throw new Error(`gave up waiting for ${what}`);
}

/**
 * Starts a JobManager with a 1g plan and `taskManagers` simulated TaskManagers
 * of `slots` slots each, and resolves once all of them are registered. Call
 * stop() in a finally: it kills both processes and removes the storage dir.
 */
export async function startCluster({ storagePrefix, taskManagers, slots }) {
  const storage = mkdtempSync(join(tmpdir(), storagePrefix));
  let restUrl;
  let rpcUrl;
  const jm = startProcess(join(root, 'bin', 'jobmanager'), [
    '--rest.port=0', '--jobmanager.rpc.port=0', `--jobmanager.storage.dir=${storage}`, '--jobmanager.process.memory.size=1g',
  ], (line) => {
    if (!line.startsWith('{')) return;
    const r = JSON.parse(line);
    if (typeof r.restAddress === 'string') restUrl = r.restAddress;
    if (typeof r.rpcAddress === 'string') rpcUrl = r.rpcAddress;
  });
  let sim;
  const stop = async () => {
    sim?.kill('SIGKILL');
    jm.kill('SIGTERM');
    await new Promise((r) => (jm.exitCode !== null ? r() : jm.once('exit', r)));
    rmSync(storage, { recursive: true, force: true });
  };
  try {
    await until('the JobManager', async () => (restUrl && rpcUrl ? true : undefined), 200, 50);
    sim = startProcess(process.execPath, [
      join(root, 'dist', 'cli.js'), 'taskmanager-sim', '--jobmanager', rpcUrl, '--count', String(taskManagers), '--slots', String(slots),
      '--token-file', join(storage, 'rpc-token'), '--log-level', 'warn', '--id-prefix', 'bench',
    ]);
    const get = async (path) => (await fetch(`${restUrl}${path}`)).json();
    await until(`${taskManagers} TaskManagers`, async () => ((await get('/overview')).taskmanagers === taskManagers ? true : undefined), 400, 50);
    return { restUrl, get, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Resolves once GET /jobs/overview reports `tasks` running tasks of the job (polled every 20 ms). */
export function untilRunning(cluster, jobid, tasks) {
  return until(`${tasks.toLocaleString('en')} RUNNING`, async () => {
    const job = (await cluster.get('/jobs/overview')).jobs.find((j) => j.jid === jobid);
    return job?.tasks.running === tasks ? true : undefined;
  }, 6_000, 20);
}
