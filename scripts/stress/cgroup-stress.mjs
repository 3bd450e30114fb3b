// The cgroup stress test of issue 5: run the JobManager inside a real cgroup v1
// memory limit and drive it with several times the load its plan admits, then
// report whether it survived inside the limit.
//
//   node scripts/stress/cgroup-stress.mjs --limit 192Mi [--duration 60] [--mode planned|plain] [--json]
//
// mode planned: `bin/jobmanager` (the plan's V8 flags; the product's way to start).
// mode plain:   plain `node` without the flags (scripts/stress/plain-jobmanager.mjs),
//               the comparison recorded in docs/memory.md.
// mode unaware: plain `node`, and the plan ignores the cgroup (1g default).
//
// Needs root and the cgroup v1 memory controller at /sys/fs/cgroup/memory
// (a cgroup is created per run and removed afterwards). The JobManager alone
// runs inside the cgroup; the load generator (simulated TaskManagers, job
// submitter, REST pollers) runs in this process, outside it.
//
// Load, scaled from the plan the JobManager derives for the limit:
// - TaskManagers: `--taskmanagers` (default 250) x 2 slots, heartbeats every 2 s,
//   declared lost after 20 s without one.
// - steady jobs: two 4-vertex jobs occupying every slot, checkpointing every second
//   (checkpoint acks = priority RPC traffic), running for the whole test.
// - wide jobs: a chain of V vertices (parallelism 1) sized so that ~25 archived
//   snapshots fill the archived-jobs cache; submitted at a rate that keeps six
//   times as many outstanding as the live-coordination budget admits; admitted
//   ones wait for slots and are cancelled after 8 s (so the archive churns).
// - REST pollers: 3 loops over /overview, /jobs/overview, /jobs/:id,
//   /taskmanagers, /jobmanager/memory, /metrics, /jobs/:id/checkpoints.
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { chainJob, createCgroup, defaultPlanFor, dist, http, MiB, procStatus, sleep, spawnJobManager, stopJobManager, cgroupUnavailableReason, parseLimit, stressCli } from './lib.mjs';

export { cgroupUnavailableReason, parseLimit };

/**
 * Run one stress test. Returns a result object with the measurements and a
 * `failures` list (empty = the JobManager held its plan).
 */
export async function runCgroupStress(options) {
  const limitBytes = options.limitBytes;
  const durationMs = options.durationMs ?? 60_000;
  const mode = options.mode ?? 'planned';
  const taskManagers = options.taskManagers ?? 250;
  const slotsPerTaskManager = 2;
  const log = options.log ?? (() => {});

  const { liveCoordinationBudget, estimateJobFootprintBytes } = await import(dist('memory/admission.js'));
  const { splitCacheBudget } = await import(dist('memory/caches.js'));
  const { startSimulator } = await import(dist('taskmanager-sim/simulator.js'));

  // The plan the JobManager will derive from the cgroup limit (defaults).
  const plan = await defaultPlanFor(limitBytes);
  const live = liveCoordinationBudget(plan).liveBytes;
  const archiveBudget = splitCacheBudget(plan.cacheBytes).archivedJobsBytes;
  const wideVertices = Math.max(8, Math.min(4000, Math.floor((archiveBudget / 25 - 2048) / 1536)));
  const checkpointing = { interval: 1000, timeout: 60_000, minPause: 0, maxConcurrent: 1, retained: 2 };
  const wideEstimate = estimateJobFootprintBytes({ jobVertices: wideVertices, subtasks: wideVertices, jobEdges: wideVertices - 1, retainedCheckpoints: 2, concurrentCheckpoints: 1 });
  const fits = Math.max(1, Math.floor(live / wideEstimate));
  const lifetimeMs = 8_000;
  const offeredOutstanding = 6 * fits;
  const submitIntervalMs = Math.max(5, Math.floor(lifetimeMs / offeredOutstanding));

  const cg = createCgroup(limitBytes);
  let jm;
  const result = {
    mode,
    limitBytes,
    limit: `${limitBytes / MiB}Mi`,
    plan: { heapBytes: plan.heapBytes, oldGenerationBytes: plan.oldGenerationBytes, cacheBytes: plan.cacheBytes, networkBytes: plan.networkBytes, flags: plan.nodeFlags },
    load: { taskManagers, slotsPerTaskManager, wideVertices, wideEstimateBytes: wideEstimate, liveBudgetBytes: live, fits, offeredOutstanding, submitIntervalMs, lifetimeMs, durationMs },
    samples: 0,
    peakRssBytes: 0,
    peakCgroupBytes: 0,
    submissions: { attempted: 0, admitted: 0, rejected503: 0, rejectedWithMessage: 0, shed503: 0, other: 0, errors: 0, firstRejection: undefined },
    cancels: 0,
    rest: { requests: 0, ok: 0, shed503: 0, notFound: 0, evictedNotFound: 0, other: 0, errors: 0 },
    failures: [],
  };
  const deadline = Date.now() + durationMs;
  let sim;
  const stop = { now: false };
  try {
    jm = await spawnJobManager({ cg, mode });
    const { restUrl, rpcUrl, token } = jm;
    log(`JobManager (${mode}) up in cgroup ${cg.path}: REST ${restUrl}, RPC ${rpcUrl}`);

    sim = await startSimulator({
      jobManagerUrl: rpcUrl,
      token,
      count: taskManagers,
      slotsPerTaskManager,
      logger: pino({ level: 'silent' }),
      idPrefix: `stress-${randomBytes(2).toString('hex')}`,
    });
    for (let i = 0; i < 200; i++) {
      const ov = await http('GET', `${restUrl}/overview`).catch(() => undefined);
      if (ov?.json?.taskmanagers === taskManagers) break;
      await sleep(100);
    }

    // Steady checkpointing jobs that take every slot.
    const slots = taskManagers * slotsPerTaskManager;
    const steadyIds = [];
    for (let j = 0; j < 2; j++) {
      const res = await http('POST', `${restUrl}/jobs`, chainJob(`steady-${j}`, 4, slots / 2, { checkpointing }));
      if (res.status === 202 && res.json?.jobid) steadyIds.push(res.json.jobid);
      else result.failures.push(`steady job ${j} was not accepted: ${res.status} ${res.text.slice(0, 300)}`);
    }

    // Monitor.
    const monitor = (async () => {
      while (!stop.now) {
        const s = procStatus(jm.pid);
        if (s) {
          result.samples++;
          result.peakRssBytes = Math.max(result.peakRssBytes, s.hwm || 0, s.rss || 0);
        }
        await sleep(200);
      }
    })();

    // Wide job submitter: keeps `offeredOutstanding` jobs in demand; cancels admitted ones after their lifetime.
    const admitted = [];
    const recentIds = [];
    const submitter = (async () => {
      let n = 0;
      const inflight = new Set();
      while (Date.now() < deadline) {
        const started = Date.now();
        while (admitted.length > 0 && admitted[0].at + lifetimeMs <= Date.now()) {
          const { id } = admitted.shift();
          http('PATCH', `${restUrl}/jobs/${id}?mode=cancel`).then(() => result.cancels++, () => undefined);
        }
        if (inflight.size < 8) {
          const job = chainJob(`wide-${n++}`, wideVertices, 1, { checkpointing });
          result.submissions.attempted++;
          const p = http('POST', `${restUrl}/jobs`, job).then(
            (res) => {
              if (res.status === 202) {
                result.submissions.admitted++;
                admitted.push({ id: res.json.jobid, at: Date.now() });
                recentIds.push(res.json.jobid);
                if (recentIds.length > 2000) recentIds.shift();
              } else if (res.status === 503) {
                const msg = res.json?.errors?.[0] ?? '';
                if (/not admitted/.test(msg)) {
                  result.submissions.rejected503++;
                  if (res.headers['retry-after'] !== undefined) result.submissions.rejectedWithMessage++;
                  result.submissions.firstRejection ??= msg;
                } else result.submissions.shed503++;
              } else {
                result.submissions.other++;
                result.submissions.lastOther ??= `${res.status} ${res.text.slice(0, 300)}`;
              }
            },
            () => result.submissions.errors++,
          );
          inflight.add(p);
          p.finally(() => inflight.delete(p));
        }
        await sleep(Math.max(1, submitIntervalMs - (Date.now() - started)));
      }
      await Promise.allSettled([...inflight]);
    })();

    // REST pollers.
    const pollers = [0, 1, 2].map(async (k) => {
      let i = k;
      while (Date.now() < deadline) {
        i++;
        const pick = i % 8;
        let url;
        if (pick === 0) url = '/overview';
        else if (pick === 1) url = '/jobs/overview';
        else if (pick === 2 && recentIds.length > 0) url = `/jobs/${recentIds[recentIds.length - 1 - (i % Math.min(20, recentIds.length))]}`;
        else if (pick === 3 && recentIds.length > 0) url = `/jobs/${recentIds[i % recentIds.length]}`; // old ones may be evicted
        else if (pick === 4) url = '/taskmanagers';
        else if (pick === 5) url = '/jobmanager/memory';
        else if (pick === 6) url = '/metrics';
        else url = steadyIds.length > 0 ? `/jobs/${steadyIds[i % steadyIds.length]}/checkpoints` : '/overview';
        result.rest.requests++;
        try {
          const res = await http('GET', `${restUrl}${url}`);
          if (res.status === 200) result.rest.ok++;
          else if (res.status === 503) result.rest.shed503++;
          else if (res.status === 404) {
            result.rest.notFound++;
            if (/evicted/.test(res.text)) result.rest.evictedNotFound++;
          } else result.rest.other++;
        } catch {
          result.rest.errors++;
        }
        await sleep(20);
      }
    });

    await Promise.all([submitter, ...pollers]);
    // Final observations while the JobManager still runs.
    const metrics = await http('GET', `${restUrl}/metrics`).catch(() => undefined);
    const ev = metrics ? /^jobmanager_cache_evictions_total\{cache="archived-jobs"\} (\d+)/m.exec(metrics.text) : null;
    result.archivedJobEvictions = ev ? Number(ev[1]) : undefined;
    const shed = metrics ? [...metrics.text.matchAll(/^jobmanager_shed_requests_total\{reason="(\w+)"\} (\d+)/gm)].map((m) => `${m[1]}=${m[2]}`) : [];
    result.shedByReason = shed;
    const poolRej = metrics ? /^jobmanager_network_buffer_rejections_total (\d+)/m.exec(metrics.text) : null;
    result.networkBufferRejections = poolRej ? Number(poolRej[1]) : undefined;
    const tms = await http('GET', `${restUrl}/overview`).catch(() => undefined);
    result.taskManagersAtEnd = tms?.json?.taskmanagers;
    const cps = steadyIds.length > 0 ? await http('GET', `${restUrl}/jobs/${steadyIds[0]}/checkpoints`).catch(() => undefined) : undefined;
    result.steadyCheckpointsCompleted = cps?.json?.counts?.completed;
    result.reRegistrations = sim.taskManagers.reduce((a, tm) => a + Math.max(0, (tm.registrations ?? 1) - 1), 0);
    result.lostLogLines = jm.lostLines;
    stop.now = true;
    await monitor;
  } catch (err) {
    result.failures.push(`harness error: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    stop.now = true;
    const s = jm ? procStatus(jm.pid) : undefined;
    if (s) result.peakRssBytes = Math.max(result.peakRssBytes, s.hwm || 0);
    result.aliveAtEnd = jm !== undefined && jm.exit === undefined;
    result.peakCgroupBytes = cg.number('memory.max_usage_in_bytes');
    result.failcnt = cg.number('memory.failcnt');
    result.oomKills = cg.oomKills();
    result.underOom = /^under_oom 1$/m.test(cg.read('memory.oom_control'));
    if (sim) await sim.stop().catch(() => undefined);
    if (jm) {
      result.exit = jm.exit;
      result.stderrTail = jm.stderr.slice(-1500);
      await stopJobManager(jm);
    }
    result.cgroupRemoved = cg.remove();
  }

  const pct = (b) => Math.round((b / limitBytes) * 1000) / 10;
  result.peakRssPercent = pct(result.peakRssBytes);
  result.peakCgroupPercent = pct(result.peakCgroupBytes);
  if (!result.aliveAtEnd) result.failures.push(`the JobManager died during the test: ${JSON.stringify(result.exit)} ${(result.stderrTail ?? '').slice(-500)}`);
  if (result.oomKills !== undefined && result.oomKills > 0) result.failures.push(`the cgroup OOM killer fired ${result.oomKills} time(s)`);
  if (result.peakRssBytes >= 0.95 * limitBytes) result.failures.push(`peak RSS ${result.peakRssBytes} bytes is ${result.peakRssPercent}% of the limit (must stay below 95%)`);
  if (result.reRegistrations > 0 || (result.taskManagersAtEnd !== undefined && result.taskManagersAtEnd !== taskManagers)) {
    result.failures.push(`TaskManagers were declared lost: ${result.reRegistrations} re-registration(s), ${result.taskManagersAtEnd} of ${taskManagers} registered at the end`);
  }
  if (result.submissions.rejected503 === 0) result.failures.push('no surplus submission was rejected with 503 (the load did not exceed the plan)');
  if (result.submissions.rejected503 !== result.submissions.rejectedWithMessage) result.failures.push('a 503 rejection came without Retry-After');
  if (!(result.archivedJobEvictions > 0)) result.failures.push(`the archived-jobs cache did not evict (evictions: ${result.archivedJobEvictions})`);
  if (result.submissions.attempted < 5 * fits) result.failures.push(`only ${result.submissions.attempted} submissions for ${fits} that fit (need >= 5x)`);
  return result;
}

async function cli() {
  const { value: get, json } = stressCli('cgroup stress test');
  const result = await runCgroupStress({
    limitBytes: parseLimit(get('limit', '192Mi')),
    durationMs: Number(get('duration', '60')) * 1000,
    mode: get('mode', 'planned'),
    taskManagers: Number(get('taskmanagers', '250')),
    log: (m) => console.error(m),
  });
  console.log(json ? JSON.stringify(result) : result);
  process.exit(result.failures.length === 0 ? 0 : 1);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await cli();
