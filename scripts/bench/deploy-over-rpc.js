// Submit -> all 20,000 tasks RUNNING over the real RPC: the JobManager as a
// real process (bin/jobmanager, so with its memory plan's V8 flags) and 20
// simulated TaskManagers x 1,000 slots in one simulator process. Timed from
// POST /jobs until GET /jobs/overview reports 20,000 running tasks (polled
// every 20 ms), then the job is canceled and the next run starts.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { WIDE_JOB, fmt, median } from './util.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export const meta = {
  id: 'deploy-over-rpc',
  title: 'Submit -> all 20,000 tasks RUNNING over RPC, 20 simulated TaskManagers x 1,000 slots (real processes)',
  anchor: 'Flink 1.14 task deployment of the 2 x 10,000 all-to-all job: 17.2 s.',
};

function startProcess(command, args, onLine) {
  const child = spawn(command, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH, NODE: process.execPath } });
  let pending = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk) => {
    pending += chunk;
    let nl;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      onLine?.(line);
    }
  });
  child.stderr.setEncoding('utf8').on('data', (c) => (stderr += c));
  return { child, stderr: () => stderr };
}

async function until(what, fn, attempts, delayMs) {
  for (let i = 0; i < attempts; i++) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    await sleep(delayMs);
  }
  throw new Error(`gave up waiting for ${what}`);
}

export async function run() {
  const storage = mkdtempSync(join(tmpdir(), 'bench-deploy-rpc-'));
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
  try {
    await until('the JobManager', async () => (restUrl && rpcUrl ? true : undefined), 200, 50);
    sim = startProcess(process.execPath, [
      join(root, 'dist', 'cli.js'), 'taskmanager-sim', '--jobmanager', rpcUrl, '--count', '20', '--slots', '1000',
      '--token-file', join(storage, 'rpc-token'), '--log-level', 'warn', '--id-prefix', 'bench',
    ]);
    const get = async (path) => (await fetch(`${restUrl}${path}`)).json();
    await until('20 TaskManagers', async () => ((await get('/overview')).taskmanagers === 20 ? true : undefined), 400, 50);

    const RUNS = 3;
    const times = [];
    let heapUsed = 0;
    for (let i = 0; i < RUNS + 1; i++) {
      const t0 = performance.now();
      const res = await fetch(`${restUrl}/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(WIDE_JOB) });
      const { jobid } = await res.json();
      if (res.status !== 202) throw new Error(`submit answered ${res.status}`);
      await until('20,000 RUNNING', async () => {
        const job = (await get('/jobs/overview')).jobs.find((j) => j.jid === jobid);
        return job?.tasks.running === 20_000 ? true : undefined;
      }, 6_000, 20);
      const ms = performance.now() - t0;
      if (i >= 1) times.push(ms);
      const [heap] = await get('/jobmanager/metrics?get=Status.JVM.Memory.Heap.Used');
      heapUsed = Math.max(heapUsed, Number(heap.value));
      await fetch(`${restUrl}/jobs/${jobid}?mode=cancel`, { method: 'PATCH' });
      await until('slots free', async () => {
        const o = await get('/overview');
        return o['slots-available'] === o['slots-total'] ? true : undefined;
      }, 3_000, 20);
    }
    return {
      rows: [
        { metric: 'submit -> all 20,000 tasks RUNNING over RPC, median', value: fmt(median(times) / 1000, 2), unit: 's', anchor: 'Flink 1.14: 17.2 s' },
        { metric: 'runs', value: times.map((t) => fmt(t / 1000, 2)).join(', '), unit: 's' },
        { metric: 'JobManager V8 heap used with the job RUNNING (max over runs)', value: fmt(heapUsed / 2 ** 20, 1), unit: 'MiB' },
      ],
      notes: [
        `${RUNS} measured runs after 1 warm-up, each followed by a cancel. The JobManager runs with a 1g memory plan; ` +
          'the simulator process hosts all 20 TaskManagers (one HTTP endpoint, one undici Pool to the JobManager), ' +
          'reports INITIALIZING and RUNNING batched per TaskManager; both share the 2 cores with the polling client. ' +
          'Includes validation, ExecutionGraph build, slot allocation, 20 deploy RPCs of 1,000 descriptors each, and 40,000 state updates over RPC. ' +
          'Resolution: the 20 ms poll of GET /jobs/overview.',
      ],
    };
  } finally {
    sim?.child.kill('SIGKILL');
    jm.child.kill('SIGTERM');
    await new Promise((r) => (jm.child.exitCode !== null ? r() : jm.child.once('exit', r)));
    rmSync(storage, { recursive: true, force: true });
  }
}
