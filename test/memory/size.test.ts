import t from 'tap';
import { run } from '../../app/cli/size.js';
import { recommendProcessSize, SIZING_MARGIN } from '../../app/memory/sizing.js';
import { deriveMemoryPlan, type MemoryInputs } from '../../app/memory/plan.js';
import { liveCoordinationBudget } from '../../app/memory/admission.js';
import { splitCacheBudget } from '../../app/memory/caches.js';
import type { CliContext } from '../../app/cli/context.js';

const MiB = 1024 * 1024;
const settings: MemoryInputs = {
  processBytes: undefined,
  heapBytes: undefined,
  offHeapBytes: undefined,
  networkBytes: undefined,
  networkSegmentBytes: 32 * 1024,
  overheadFraction: 0.1,
  overheadMinBytes: 80 * MiB,
  overheadMaxBytes: 1024 * MiB,
  semiSpaceBytes: undefined,
  cacheFraction: 0.2,
};

function ctx() {
  let out = '';
  let err = '';
  const c: CliContext = {
    env: {},
    cwd: '/nonexistent-for-size-test',
    stdout: (s) => void (out += s),
    stderr: (s) => void (err += s),
    containerMemory: () => ({ limitBytes: undefined, warnings: [] }),
  };
  return { c, out: () => out, err: () => err };
}

t.test('the recommendation is the smallest whole-MiB size whose plan fits', async (t) => {
  for (const w of [
    { jobs: 1, subtasksPerJob: 10, taskManagers: 2, retainedCheckpoints: 1, archivedJobs: 10 },
    { jobs: 20, subtasksPerJob: 500, taskManagers: 100, retainedCheckpoints: 3, archivedJobs: 500 },
    { jobs: 200, subtasksPerJob: 2000, taskManagers: 1000, retainedCheckpoints: 5, archivedJobs: 5000 },
  ]) {
    const r = recommendProcessSize(w, settings);
    t.equal(r.processBytes % MiB, 0, 'whole MiB');
    const live = liveCoordinationBudget(r.plan).liveBytes;
    t.ok(live >= r.estimate.liveBytes * SIZING_MARGIN, `live budget ${live} covers the estimate with margin`);
    t.ok(splitCacheBudget(r.plan.cacheBytes).archivedJobsBytes >= r.estimate.archivedJobsBytes, 'archived jobs fit the cache');
    // One MiB less does not fit (or cannot be planned).
    let smaller: boolean;
    try {
      const p = deriveMemoryPlan({ ...settings, processBytes: r.processBytes - MiB });
      smaller =
        liveCoordinationBudget(p).liveBytes >= Math.ceil(r.estimate.liveBytes * SIZING_MARGIN) &&
        splitCacheBudget(p.cacheBytes).archivedJobsBytes >= r.estimate.archivedJobsBytes &&
        splitCacheBudget(p.cacheBytes).checkpointStatsBytes >= r.estimate.checkpointHistoryBytes;
    } catch {
      smaller = false;
    }
    t.notOk(smaller, `${r.processBytes / MiB - 1} MiB does not fit`);
  }
});

t.test('bigger workloads need more memory', async (t) => {
  const a = recommendProcessSize({ jobs: 10, subtasksPerJob: 100, taskManagers: 10, retainedCheckpoints: 1, archivedJobs: 100 }, settings);
  const b = recommendProcessSize({ jobs: 100, subtasksPerJob: 1000, taskManagers: 100, retainedCheckpoints: 1, archivedJobs: 100 }, settings);
  t.ok(b.processBytes > a.processBytes);
});

t.test('CLI prints the limit, a Helm snippet and the plan', async (t) => {
  const x = ctx();
  const rc = await run(['--jobs', '20', '--subtasks', '500', '--taskmanagers', '100', '--checkpoints-retained', '3', '--archived-jobs', '500'], x.c);
  t.equal(rc, 0);
  const m = /Recommended container memory limit: (\d+)Mi/.exec(x.out());
  t.ok(m, 'limit line');
  t.match(x.out(), new RegExp(`resources:\\n  requests:\\n    memory: ${m![1]}Mi\\n  limits:\\n    memory: ${m![1]}Mi`));
  t.match(x.out(), /Final JobManager memory configuration:/);
  t.match(x.out(), /--max-old-space-size=\d+/);

  const j = ctx();
  t.equal(await run(['--jobs', '20', '--subtasks', '500', '--taskmanagers', '100', '--json'], j.c), 0);
  const parsed = JSON.parse(j.out()) as { recommendedLimit: string; processBytes: number };
  t.equal(parsed.recommendedLimit, `${parsed.processBytes / MiB}Mi`);
});

t.test('CLI usage errors name the option', async (t) => {
  await t.rejects(run(['--subtasks', '1', '--taskmanagers', '1'], ctx().c), { message: /--jobs is required/ });
  await t.rejects(run(['--jobs=-3', '--subtasks', '1', '--taskmanagers', '1'], ctx().c), { message: /--jobs must be a whole number/ });
  await t.rejects(run(['--jobs', '1', '--subtasks', '1', '--taskmanagers', '1', '--bogus'], ctx().c), { message: /size: Unknown option/ });
});
