// `jobmanager size --jobs N --subtasks M --taskmanagers K --checkpoints-retained R --archived-jobs A`:
// the container memory limit a workload needs, from the measured per-unit heap
// costs (docs/sizing.md) inverted through the plan derivation, printed as a
// Helm values snippet and the plan it gives.
import { parseArgs } from 'node:util';
import { splitConfigArgs } from '../config/args.js';
import { loadConfiguration } from '../config/configuration.js';
import { formatPlanTable, memoryInputsFrom } from '../memory/plan.js';
import { recommendProcessSize, SIZING_MARGIN } from '../memory/sizing.js';
import { FOOTPRINT } from '../memory/footprint.js';
import { formatBytes, MiB } from '../memory/units.js';
import { CliUsageError, EXIT_OK, processContext, type CliContext } from './context.js';

export const SIZE_USAGE = `Usage: jobmanager size --jobs N --subtasks M --taskmanagers K
                       [--checkpoints-retained R] [--archived-jobs A]
                       [--slots-per-taskmanager S] [--vertices V] [--json] [config...]

  Recommends resources.limits.memory for a JobManager coordinating
  N concurrent jobs of M subtasks each (V job vertices, default 4) on K
  TaskManagers (S slots each, default 1), keeping R completed checkpoints per
  job (default 1) and A archived jobs (default 100), and prints the plan that
  limit gives. Per-unit costs are measured (docs/sizing.md).

config: plan settings such as --jobmanager.cache.memory.fraction=0.3 apply.
Exit codes: 0 ok, 64 usage, 78 configuration error.
`;

function count(values: Record<string, string | boolean | undefined>, name: string, fallback?: number): number {
  const raw = values[name];
  if (raw === undefined) {
    if (fallback !== undefined) return fallback;
    throw new CliUsageError(`size: --${name} is required`, SIZE_USAGE);
  }
  const text = String(raw).trim();
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw new CliUsageError(`size: --${name} must be a whole number >= 0, got ${JSON.stringify(raw)}`, SIZE_USAGE);
  }
  return Number(text);
}

export async function run(args: readonly string[], ctx: CliContext = processContext()): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    ctx.stdout(SIZE_USAGE);
    return EXIT_OK;
  }
  const split = splitConfigArgs(args);
  let values: Record<string, string | boolean | undefined>;
  try {
    const str = { type: 'string' } as const;
    values = parseArgs({
      args: [...split.rest],
      options: {
        jobs: str,
        subtasks: str,
        taskmanagers: str,
        'checkpoints-retained': str,
        'archived-jobs': str,
        'slots-per-taskmanager': str,
        vertices: str,
        json: { type: 'boolean' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    throw new CliUsageError(`size: ${(err as Error).message.split('\n')[0]}`, SIZE_USAGE);
  }
  const workload = {
    jobs: count(values, 'jobs'),
    subtasksPerJob: count(values, 'subtasks'),
    taskManagers: count(values, 'taskmanagers'),
    retainedCheckpoints: count(values, 'checkpoints-retained', 1),
    archivedJobs: count(values, 'archived-jobs', 100),
    slotsPerTaskManager: Math.max(1, count(values, 'slots-per-taskmanager', 1)),
    verticesPerJob: Math.max(1, count(values, 'vertices', 4)),
  };

  const config = loadConfiguration({ argv: args, env: ctx.env, cwd: ctx.cwd });
  const settings = memoryInputsFrom(config, undefined);
  const r = recommendProcessSize(workload, settings);
  const limitMi = Math.ceil(r.processBytes / MiB);

  if (values.json === true) {
    ctx.stdout(
      `${JSON.stringify({
        workload,
        recommendedLimit: `${limitMi}Mi`,
        processBytes: r.processBytes,
        estimate: r.estimate,
        requiredLiveBytes: r.requiredLiveBytes,
        liveBudgetBytes: r.live.liveBytes,
        cacheBudgets: r.cacheBudgets,
        plan: r.plan,
      })}\n`,
    );
    return EXIT_OK;
  }

  const e = r.estimate;
  ctx.stdout(
    [
      `Workload: ${workload.jobs} job(s) x ${workload.subtasksPerJob} subtasks (${workload.verticesPerJob} vertices), ` +
        `${workload.taskManagers} TaskManager(s) x ${workload.slotsPerTaskManager} slot(s), ` +
        `${workload.retainedCheckpoints} retained checkpoint(s) per job, ${workload.archivedJobs} archived job(s)`,
      `Estimated heap: live coordination ${formatBytes(e.liveBytes)} (${formatBytes(e.perJobBytes)} per job, TaskManagers ${formatBytes(e.taskManagerBytes)}), ` +
        `archived jobs ${formatBytes(e.archivedJobsBytes)}, checkpoint history ${formatBytes(e.checkpointHistoryBytes)}, idle baseline ${formatBytes(FOOTPRINT.baselineHeapBytes)}`,
      `Needs a live-coordination budget of ${formatBytes(r.requiredLiveBytes)} (estimate x ${SIZING_MARGIN}); this plan gives ${formatBytes(r.live.liveBytes)}.`,
      '',
      `Recommended container memory limit: ${limitMi}Mi`,
      '',
      '# Helm values',
      'resources:',
      '  requests:',
      `    memory: ${limitMi}Mi`,
      '  limits:',
      `    memory: ${limitMi}Mi`,
      '',
      formatPlanTable(r.plan),
      '',
    ].join('\n'),
  );
  return EXIT_OK;
}
