// Process entry of the JobManager (`node <flags> dist/main.js [config...]`,
// normally exec'd by bin/jobmanager with the flags of the memory plan):
// configuration -> cgroup -> memory plan -> self-check -> plan table in the
// log -> JobManager -> listen; graceful shutdown on SIGTERM/SIGINT.
//
// A ConfigError anywhere (bad configuration, impossible plan, failed
// self-check) prints one line on stderr and exits 78 (EX_CONFIG), no stack.
import { getHeapStatistics } from 'node:v8';
import { pathToFileURL } from 'node:url';
import closeWithGrace from 'close-with-grace';
import { loadConfiguration } from './config/configuration.js';
import { ConfigError } from './config/errors.js';
import { createLogger } from './http/logger.js';
import { createJobManager } from './jobmanager.js';
import { readContainerMemory } from './memory/cgroup.js';
import { CONTAINER_LIMIT_KEY, formatPlanTable, planMemory, planToJson } from './memory/plan.js';
import { checkMemoryPlan } from './memory/self-check.js';

export const EXIT_CONFIG = 78;

const oneLine = (text: string): string => text.replace(/\s*[\r\n]+\s*/g, ' ').trim();

export async function main(argv: readonly string[], env: NodeJS.ProcessEnv, cwd: string): Promise<void> {
  const config = loadConfiguration({ argv, env, cwd });
  const containerMemory = readContainerMemory();
  const { plan, containerLimit } = planMemory(config, containerMemory.limitBytes);
  const check = checkMemoryPlan({
    plan,
    env,
    heapSizeLimitBytes: getHeapStatistics().heap_size_limit,
    cgroupLimitBytes: containerMemory.limitBytes,
    cgroupLimitFile:
      containerMemory.cgroupPath === undefined
        ? undefined
        : `${containerMemory.cgroupPath}/${containerMemory.cgroupVersion === 2 ? 'memory.max' : 'memory.limit_in_bytes'}`,
    injectedContainerLimitBytes: config.optionalSizeBytes(CONTAINER_LIMIT_KEY),
    originOf: (key) => config.entry(key)?.origin,
  });

  const logger = createLogger();
  for (const warning of [...config.warnings, ...containerMemory.warnings, ...plan.warnings, ...check.warnings]) {
    logger.warn(warning);
  }
  if (config.rest.length > 0) logger.warn(`ignoring command-line arguments that are not configuration: ${config.rest.join(' ')}`);
  logger.info(
    { memoryPlan: { flags: plan.nodeFlags, processBytes: plan.processBytes, heapBytes: plan.heapBytes } },
    `${formatPlanTable(plan)}\n  Container limit: ${containerLimit.bytes === undefined ? 'none' : `${containerLimit.bytes} bytes (${containerLimit.origin})`}`,
  );

  const jobManager = await createJobManager({
    config,
    plan,
    containerMemory,
    containerLimitBytes: check.containerLimitBytes,
    planJson: planToJson(plan, config, containerLimit) as unknown as Record<string, unknown>,
    logger,
  });

  // First SIGTERM/SIGINT: close gracefully within jobmanager.shutdown.timeout,
  // then exit 0 (close-with-grace exits 1 on timeout or error).
  closeWithGrace({ delay: config.durationMs('jobmanager.shutdown.timeout'), logger }, async ({ signal, err }) => {
    if (err !== undefined) logger.error({ err }, 'fatal error, shutting down');
    else if (signal !== undefined) logger.info(`${signal} received, shutting down`);
    await jobManager.close();
  });

  await jobManager.start();
}

function fail(err: unknown): void {
  if (err instanceof ConfigError) {
    process.stderr.write(`${oneLine(err.message)}\n`);
    process.exit(EXIT_CONFIG);
  }
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2), process.env, process.cwd()).catch(fail);
}
