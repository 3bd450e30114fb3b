// Shared pieces of the stress scripts: a cgroup v1 memory cgroup per run,
// the JobManager spawned inside it, /proc sampling, a tiny HTTP client, and
// chain-shaped JobGraphs.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, rmdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { request } from 'undici';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const dist = (p) => join(root, 'dist', p);
export const MiB = 1024 * 1024;
const CGROUP_ROOT = '/sys/fs/cgroup/memory';

export function parseLimit(text) {
  const m = /^(\d+)(Mi|Gi)$/.exec(String(text).trim());
  if (!m) throw new Error(`--limit must look like 192Mi or 1Gi, got ${text}`);
  return Number(m[1]) * (m[2] === 'Gi' ? 1024 * MiB : MiB);
}

/** Why the stress test cannot run here (undefined = it can). */
export function cgroupUnavailableReason() {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'needs root to create a cgroup';
  if (!existsSync(join(CGROUP_ROOT, 'memory.limit_in_bytes'))) return `no cgroup v1 memory controller at ${CGROUP_ROOT}`;
  if (!existsSync(dist('main.js'))) return 'dist/ is not built (npx tsc -p .)';
  return undefined;
}

export function createCgroup(limitBytes) {
  const path = join(CGROUP_ROOT, `jobmanager-stress-${process.pid}-${randomBytes(3).toString('hex')}`);
  mkdirSync(path);
  writeFileSync(join(path, 'memory.limit_in_bytes'), String(limitBytes));
  const read = (file) => {
    try {
      return readFileSync(join(path, file), 'utf8');
    } catch {
      return '';
    }
  };
  return {
    path,
    read,
    number: (file) => Number(read(file).trim() || 'NaN'),
    oomKills() {
      const m = /^oom_kill (\d+)$/m.exec(read('memory.oom_control'));
      return m ? Number(m[1]) : undefined;
    },
    remove() {
      // Retry briefly: the cgroup can be removed only once its last task has exited.
      for (let i = 0; i < 50; i++) {
        try {
          rmdirSync(path);
          return true;
        } catch {
          const until = Date.now() + 100;
          while (Date.now() < until) {
            /* short synchronous wait: teardown only */
          }
        }
      }
      return false;
    },
  };
}

export function procStatus(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? NaN) * 1024;
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return undefined;
  }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function http(method, url, body) {
  const res = await request(url, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    headersTimeout: 30_000,
    bodyTimeout: 30_000,
  });
  const text = await res.body.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.statusCode, headers: res.headers, text, json };
}

export function chainJob(name, vertices, parallelism, extra = {}) {
  const vs = [];
  for (let i = 0; i < vertices; i++) vs.push({ id: `v${i}`, name: `${name}-op-${i}`, parallelism, config: extra.config ?? {} });
  const edges = [];
  for (let i = 1; i < vertices; i++) edges.push({ source: `v${i - 1}`, target: `v${i}`, distribution: i % 2 === 1 ? 'POINTWISE' : 'ALL_TO_ALL' });
  const job = { name, vertices: vs, edges };
  if (extra.checkpointing) job.checkpointing = extra.checkpointing;
  return job;
}


/**
 * Start the JobManager inside cgroup `cg`: mode 'planned' = bin/jobmanager
 * (the plan's flags), 'plain' = node without them (plan still from the
 * cgroup), 'unaware' = node without flags and a plan that ignores the cgroup
 * (the 1g default: a memory-unaware deployment). Resolves once both ports
 * are known; `exit` is set when the process ends.
 */
export async function spawnJobManager({ cg, mode, extraArgs = [] }) {
  const work = mkdtempSync(join(tmpdir(), 'jobmanager-stress-'));
  const token = randomBytes(24).toString('hex');
  writeFileSync(join(work, 'none.json'), '{}');
  const jmArgs = [
    '--rest.port=0',
    '--jobmanager.rpc.port=0',
    `--jobmanager.storage.dir=${join(work, 'data')}`,
    `--jobmanager.rpc.auth.token=${token}`,
    '--heartbeat.interval=2 s',
    '--heartbeat.timeout=20 s',
    ...extraArgs,
  ];
  const command =
    mode === 'planned'
      ? [join(root, 'bin', 'jobmanager'), ...jmArgs]
      : [process.execPath, join(root, 'scripts', 'stress', 'plain-jobmanager.mjs'), ...jmArgs];
  // The shell joins the cgroup, then becomes the JobManager (exec keeps the pid).
  const child = spawn('/bin/sh', ['-c', `echo $$ > "${cg.path}/cgroup.procs" && exec "$@"`, 'sh', ...command], {
    cwd: work,
    env: { ...process.env, NODE_OPTIONS: '', JOBMANAGER_CONFIG_FILE: join(work, 'none.json'), JOBMANAGER_STRESS_IGNORE_CGROUP: mode === 'unaware' ? '1' : '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const jm = { child, pid: child.pid, token, work, exit: undefined, restUrl: undefined, rpcUrl: undefined, stderr: '', logLines: [], lostLines: 0 };
  jm.exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve((jm.exit = { code, signal }))));
  let buf = '';
  child.stdout.on('data', (d) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (jm.logLines.length < 200) jm.logLines.push(line);
      const rest = /"restPort":(\d+)/.exec(line);
      if (rest) jm.restUrl = `http://127.0.0.1:${rest[1]}`;
      const rpc = /"rpcPort":(\d+)/.exec(line);
      if (rpc) jm.rpcUrl = `http://127.0.0.1:${rpc[1]}`;
      if (/taskManagerId/.test(line) && /lost|timed out/i.test(line)) jm.lostLines++;
    }
  });
  child.stderr.on('data', (d) => {
    if (jm.stderr.length < 20_000) jm.stderr += d.toString();
  });
  for (let i = 0; i < 300 && (!jm.restUrl || !jm.rpcUrl) && jm.exit === undefined; i++) await sleep(100);
  if (!jm.restUrl || !jm.rpcUrl) {
    await stopJobManager(jm);
    throw new Error(`JobManager did not start (exit ${JSON.stringify(jm.exit)}): ${jm.stderr.slice(0, 2000)} ${jm.logLines.slice(-5).join('\n')}`);
  }
  return jm;
}

export async function stopJobManager(jm) {
  if (jm.exit === undefined) {
    jm.child.kill('SIGTERM');
    const t = setTimeout(() => jm.child.kill('SIGKILL'), 10_000);
    await jm.exited;
    clearTimeout(t);
  }
  rmSync(jm.work, { recursive: true, force: true });
}

/** The plan the JobManager derives for a container limit with default settings. */
/** The plan the JobManager derives by itself inside a cgroup of `limitBytes` with no memory configuration. */
export async function defaultPlanFor(limitBytes) {
  const { loadConfiguration } = await import(dist('config/configuration.js'));
  const { planMemory } = await import(dist('memory/plan.js'));
  // No arguments, no environment, no settings file (an empty cwd): every memory key at its registry default.
  const cwd = mkdtempSync(join(tmpdir(), 'jm-stress-config-'));
  try {
    return planMemory(loadConfiguration({ argv: [], env: {}, cwd }), limitBytes).plan;
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
}

/**
 * The command line of a stress script: `value(name, fallback)` reads `--name V`;
 * exits 77 (skipped) with the reason when no cgroup can be made here.
 */
export function stressCli(what) {
  const args = process.argv.slice(2);
  const reason = cgroupUnavailableReason();
  if (reason) {
    console.error(`${what} cannot run: ${reason}`);
    process.exit(77);
  }
  return {
    json: args.includes('--json'),
    value: (name, fallback) => {
      const i = args.indexOf(`--${name}`);
      return i >= 0 ? args[i + 1] : fallback;
    },
  };
}
