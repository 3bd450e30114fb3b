// Checks `jobmanager size`: runs a workload inside a cgroup limited to the
// memory `size` recommends for it and verifies that it runs without admission
// rejections, pressure shedding or cache evictions.
//
//   node scripts/stress/size-check.mjs --jobs N --subtasks M --taskmanagers K --checkpoints-retained R --archived-jobs A [--duration 30]
//
// Workload: A archived jobs (4 vertices, cancelled before any slot exists),
// then K TaskManagers, then N jobs of M subtasks (4 vertices, parallelism
// M/4) with checkpointing every second keeping R, all RUNNING, while 3 REST
// pollers read the usual endpoints for `--duration` seconds.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import pino from 'pino';
import { chainJob, createCgroup, dist, http, procStatus, root, sleep, spawnJobManager, stopJobManager, cgroupUnavailableReason, stressCli } from './lib.mjs';

export { cgroupUnavailableReason };

/** `jobmanager size --json` for a workload. */
export function recommend(w) {
  const out = execFileSync(process.execPath, [
    join(root, 'dist', 'cli.js'), 'size', '--json',
    '--jobs', String(w.jobs), '--subtasks', String(w.subtasks), '--taskmanagers', String(w.taskManagers),
    '--checkpoints-retained', String(w.retained), '--archived-jobs', String(w.archived),
    '--slots-per-taskmanager', String(slotsPerTaskManager(w)),
  ], { encoding: 'utf8' });
  return JSON.parse(out);
}

const parallelismOf = (w) => Math.max(1, Math.floor(w.subtasks / 4));
function slotsPerTaskManager(w) {
  return Math.max(1, Math.ceil((w.jobs * parallelismOf(w)) / w.taskManagers));
}

export async function runSizeCheck(w, options = {}) {
  const durationMs = options.durationMs ?? 30_000;
  const log = options.log ?? (() => {});
  const rec = recommend(w);
  const limitBytes = rec.processBytes;
  const { startSimulator } = await import(dist('taskmanager-sim/simulator.js'));
  const cg = createCgroup(limitBytes);
  const result = {
    workload: w,
    recommendedLimit: rec.recommendedLimit,
    limitBytes,
    submitted: 0,
    accepted: 0,
    rejected: [],
    rest: { requests: 0, ok: 0, status503: 0, other: 0, errors: 0 },
    peakRssBytes: 0,
    failures: [],
  };
  let jm;
  let sim;
  const stop = { now: false };
  try {
    jm = await spawnJobManager({ cg, mode: 'planned' });
    log(`JobManager in ${rec.recommendedLimit} (${cg.path}): ${jm.restUrl}`);
    const monitor = (async () => {
      while (!stop.now) {
        const s = procStatus(jm.pid);
        if (s) result.peakRssBytes = Math.max(result.peakRssBytes, s.hwm || 0, s.rss || 0);
        await sleep(200);
      }
    })();
    const submit = async (job) => {
      result.submitted++;
      const res = await http('POST', `${jm.restUrl}/jobs`, job);
      if (res.status === 202) {
        result.accepted++;
        return res.json.jobid;
      }
      result.rejected.push(`${res.status} ${res.text.slice(0, 300)}`);
      return undefined;
    };
    // Archived jobs first (no TaskManager yet: they wait for slots and are cancelled).
    for (let i = 0; i < w.archived; i++) {
      const id = await submit(chainJob(`archived-${i}`, 4, 1));
      if (id) await http('PATCH', `${jm.restUrl}/jobs/${id}?mode=cancel`);
    }
    sim = await startSimulator({
      jobManagerUrl: jm.rpcUrl,
      token: jm.token,
      count: w.taskManagers,
      slotsPerTaskManager: slotsPerTaskManager(w),
      logger: pino({ level: 'silent' }),
      idPrefix: `size-${randomBytes(2).toString('hex')}`,
    });
    for (let i = 0; i < 300; i++) {
      const ov = await http('GET', `${jm.restUrl}/overview`).catch(() => undefined);
      if (ov?.json?.taskmanagers === w.taskManagers) break;
      await sleep(100);
    }
    const checkpointing = { interval: 1000, timeout: 60_000, minPause: 0, maxConcurrent: 1, retained: w.retained };
    const running = [];
    for (let j = 0; j < w.jobs; j++) {
      const id = await submit(chainJob(`job-${j}`, 4, parallelismOf(w), w.retained > 0 ? { checkpointing } : {}));
      if (id) running.push(id);
    }
    const deadline = Date.now() + durationMs;
    const pollers = [0, 1, 2].map(async (k) => {
      let i = k;
      while (Date.now() < deadline) {
        i++;
        const urls = ['/overview', '/jobs/overview', '/taskmanagers', '/jobmanager/memory', '/metrics'];
        if (running.length > 0) urls.push(`/jobs/${running[i % running.length]}`, `/jobs/${running[i % running.length]}/checkpoints`);
        const url = urls[i % urls.length];
        result.rest.requests++;
        try {
          const res = await http('GET', `${jm.restUrl}${url}`);
          if (res.status === 200) result.rest.ok++;
          else if (res.status === 503) result.rest.status503++;
          else result.rest.other++;
        } catch {
          result.rest.errors++;
        }
        await sleep(50);
      }
    });
    await Promise.all(pollers);
    const states = await Promise.all(running.map((id) => http('GET', `${jm.restUrl}/jobs/${id}`).then((r) => r.json?.state)));
    result.runningJobs = states.filter((s) => s === 'RUNNING').length;
    const metrics = (await http('GET', `${jm.restUrl}/metrics`)).text;
    const num = (re) => Number(re.exec(metrics)?.[1] ?? 0);
    result.shed = [...metrics.matchAll(/^jobmanager_shed_requests_total\{reason="(\w+)"\} (\d+)/gm)].reduce((a, m) => a + Number(m[2]), 0);
    result.admissionRejections = num(/^jobmanager_admission_rejections_total (\d+)/m);
    result.archivedEvictions = num(/^jobmanager_cache_evictions_total\{cache="archived-jobs"\} (\d+)/m);
    result.networkRejections = num(/^jobmanager_network_buffer_rejections_total (\d+)/m);
    result.taskManagersAtEnd = (await http('GET', `${jm.restUrl}/overview`)).json?.taskmanagers;
    stop.now = true;
    await monitor;
  } catch (err) {
    result.failures.push(`harness error: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    stop.now = true;
    result.aliveAtEnd = jm !== undefined && jm.exit === undefined;
    result.oomKills = cg.oomKills();
    if (sim) await sim.stop().catch(() => undefined);
    if (jm) {
      result.stderrTail = jm.stderr.slice(-1000);
      await stopJobManager(jm);
    }
    result.cgroupRemoved = cg.remove();
  }
  result.peakRssPercent = Math.round((result.peakRssBytes / limitBytes) * 1000) / 10;
  if (!result.aliveAtEnd) result.failures.push(`the JobManager died: ${result.stderrTail}`);
  if (result.rejected.length > 0) result.failures.push(`${result.rejected.length} submission(s) rejected, e.g. ${result.rejected[0]}`);
  if (result.rest.status503 > 0 || result.shed > 0) result.failures.push(`REST requests were shed (${result.rest.status503} 503s, shed counter ${result.shed})`);
  if (result.admissionRejections > 0) result.failures.push(`admission rejected ${result.admissionRejections} job(s)`);
  if (result.archivedEvictions > 0) result.failures.push(`the archived-jobs cache evicted ${result.archivedEvictions} job(s) of ${w.archived}`);
  if (result.runningJobs !== w.jobs) result.failures.push(`${result.runningJobs} of ${w.jobs} jobs RUNNING at the end`);
  if (result.taskManagersAtEnd !== w.taskManagers) result.failures.push(`${result.taskManagersAtEnd} of ${w.taskManagers} TaskManagers registered at the end`);
  if (result.peakRssBytes >= 0.95 * limitBytes) result.failures.push(`peak RSS ${result.peakRssPercent}% of the limit`);
  return result;
}

async function cli() {
  const { value: get, json } = stressCli('size check');
  const r = await runSizeCheck(
    {
      jobs: Number(get('jobs', '2')),
      subtasks: Number(get('subtasks', '40')),
      taskManagers: Number(get('taskmanagers', '10')),
      retained: Number(get('checkpoints-retained', '1')),
      archived: Number(get('archived-jobs', '20')),
    },
    { durationMs: Number(get('duration', '30')) * 1000, log: (m) => console.error(m) },
  );
  console.log(json ? JSON.stringify(r) : r);
  process.exit(r.failures.length === 0 ? 0 : 1);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await cli();
