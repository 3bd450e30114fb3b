// The comparison baseline of the cgroup stress test: the same JobManager
// (same code, same configuration, same plan-sized pool, caches and admission)
// started as plain `node` WITHOUT the plan's V8 flags, i.e. what happens when
// Node.js is run in a container the usual way. dist/main.js refuses to start
// like that (its self-check compares V8's heap limit with the plan, exit 78),
// so this script is main.ts minus the self-check. Never use it in production.
//   node scripts/stress/plain-jobmanager.mjs [config...]
//   JOBMANAGER_STRESS_IGNORE_CGROUP=1 node scripts/stress/plain-jobmanager.mjs [config...]
import { loadConfiguration } from '../../dist/config/configuration.js';
import { createLogger } from '../../dist/http/logger.js';
import { createJobManager } from '../../dist/jobmanager.js';
import { readContainerMemory } from '../../dist/memory/cgroup.js';
import { planMemory, planToJson } from '../../dist/memory/plan.js';
import { getHeapStatistics } from 'node:v8';

const config = loadConfiguration({ argv: process.argv.slice(2), env: process.env, cwd: process.cwd() });
// JOBMANAGER_STRESS_IGNORE_CGROUP=1: also plan as if no container limit were
// visible (the 1g default), i.e. a memory-unaware deployment.
const ignoreCgroup = process.env.JOBMANAGER_STRESS_IGNORE_CGROUP === '1';
const containerMemory = ignoreCgroup
  ? { cgroupVersion: undefined, limitBytes: undefined, usageBytes: undefined, cgroupPath: undefined, warnings: [] }
  : readContainerMemory();
const { plan, containerLimit } = planMemory(config, containerMemory.limitBytes);
const logger = createLogger();
logger.warn({ heapSizeLimit: getHeapStatistics().heap_size_limit, planFlags: plan.nodeFlags }, 'plain node without the memory plan flags (stress comparison only)');
const jobManager = await createJobManager({
  config,
  plan,
  containerMemory,
  containerLimitBytes: containerLimit.bytes,
  planJson: planToJson(plan, config, containerLimit),
  logger,
});
const stop = async () => {
  await jobManager.close();
  process.exit(0);
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
await jobManager.start();
