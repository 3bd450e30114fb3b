// Builds the JobManager's object graph in-process, exactly as app/main.ts
// does (configuration -> plan -> createJobManager), for tests that drive it
// through rest.inject() without sockets or a child process.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { loadConfiguration, type Configuration } from '../../app/config/configuration.js';
import { createJobManager, type JobManager } from '../../app/jobmanager.js';
import type { ContainerMemory } from '../../app/memory/cgroup.js';
import { planMemory, planToJson, type PlannedMemory } from '../../app/memory/plan.js';

export const NO_CGROUP: ContainerMemory = {
  cgroupVersion: undefined,
  limitBytes: undefined,
  usageBytes: undefined,
  cgroupPath: undefined,
  warnings: [],
};

export interface TestJobManagerOptions {
  /** Command-line configuration, e.g. ['--jobmanager.process.memory.size=512m']. */
  readonly argv?: readonly string[];
  /** The environment the configuration sees (the test's own is never used). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Where appsettings.json is looked up; default a fresh empty directory. */
  readonly cwd?: string;
  /** The cgroup reading (boot and live); default: no cgroup. */
  readonly containerMemory?: ContainerMemory;
  readonly logger?: Logger;
}

export interface TestJobManager extends PlannedMemory {
  readonly jobManager: JobManager;
  readonly config: Configuration;
}

/** Teardown registration as tap's `t.teardown`. */
type Teardown = (fn: () => unknown) => void;

export async function buildTestJobManager(teardown: Teardown, opts: TestJobManagerOptions = {}): Promise<TestJobManager> {
  let cwd = opts.cwd;
  if (cwd === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'jm-test-'));
    teardown(() => rmSync(dir, { recursive: true, force: true }));
    cwd = dir;
  }
  const config = loadConfiguration({ argv: ['--rest.port=0', '--jobmanager.rpc.port=0', ...(opts.argv ?? [])], env: opts.env ?? {}, cwd });
  const containerMemory = opts.containerMemory ?? NO_CGROUP;
  const planned = planMemory(config, containerMemory.limitBytes);
  const jobManager = await createJobManager({
    config,
    plan: planned.plan,
    containerMemory,
    containerLimitBytes: planned.containerLimit.bytes,
    planJson: planToJson(planned.plan, config, planned.containerLimit) as unknown as Record<string, unknown>,
    logger: opts.logger ?? pino({ level: 'silent' }),
    readContainerMemory: () => containerMemory,
    cwd,
  });
  teardown(() => jobManager.close());
  return { ...planned, config, jobManager };
}
