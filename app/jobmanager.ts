// The composition root: the one place that builds the JobManager's object
// graph. Data flows one way: config -> plan -> sized resources -> services ->
// adapters (Fastify servers). app/main.ts calls it for the real process;
// tests build the same graph through test/helpers/jobmanager.ts.
//
// Adding a service: construct it in createJobManager under the matching
// section below, pass it to the adapters that need it, and stop it in close()
// (reverse order of construction).
import { isAbsolute, resolve } from 'node:path';
import { getHeapStatistics } from 'node:v8';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Configuration } from './config/configuration.js';
import { ConfigError } from './config/errors.js';
import { systemClock } from './cluster/clock.js';
import { ResourceManager } from './cluster/resource-manager.js';
import { clusterRest } from './http/rest/cluster.js';
import { jobManagerRest, type JobManagerState } from './http/rest/jobmanager.js';
import { HttpTaskExecutorGateway } from './http/rpc/gateway.js';
import { buildRpcServer } from './http/rpc/server.js';
import { resolveRpcToken, RpcTokenError } from './http/rpc/token.js';
import { Dispatcher } from './jobs/dispatcher.js';
import { CheckpointService } from './checkpoints/service.js';
import { checkpointDefaultsFromConfig } from './checkpoints/settings.js';
import { FileStateStore } from './checkpoints/state-store.js';
import { checkpointsRest } from './http/rest/checkpoints.js';
import type { ArchiveStore, RestartStrategySpec } from './jobs/types.js';
import { createRestServer } from './http/server.js';
import { readContainerMemory, type ContainerMemory } from './memory/cgroup.js';
import type { MemoryPlan } from './memory/plan.js';
import { expectedHeapSizeLimitBytes, heapFlagsOf } from './memory/self-check.js';
import { createMemoryRuntime, type MemoryRuntime } from './memory/runtime.js';
import { chargeTaskManager, jobShapeOf, releaseTaskManager } from './memory/admission.js';
import { metricsRest, registerPressureShedding } from './http/memory.js';

export interface JobManagerDeps {
  readonly config: Configuration;
  readonly plan: MemoryPlan;
  /** The cgroup reading taken at boot (the plan was derived from it). */
  readonly containerMemory: ContainerMemory;
  /** Effective container limit after the self-check (tighter of cgroup and injected). */
  readonly containerLimitBytes?: number | undefined;
  /** planToJson(plan, ...) as shown by `memory plan --json`. */
  readonly planJson: Readonly<Record<string, unknown>>;
  readonly logger: Logger;
  /** Fresh cgroup figures for live endpoints; tests inject fixtures. */
  readonly readContainerMemory?: () => ContainerMemory;
  /** Relative paths (jobmanager.storage.dir) resolve against this; default process.cwd(). */
  readonly cwd?: string;
}

export interface ListenAddresses {
  /** e.g. http://127.0.0.1:8081 */
  readonly rest: string;
  /** The TaskManager-facing RPC, e.g. http://127.0.0.1:6123 */
  readonly rpc: string;
}

export interface JobManager {
  readonly config: Configuration;
  readonly plan: MemoryPlan;
  readonly rest: FastifyInstance;
  /** The TaskManager-facing RPC server (jobmanager.rpc.port). */
  readonly rpc: FastifyInstance;
  readonly resourceManager: ResourceManager;
  readonly dispatcher: Dispatcher;
  readonly state: JobManagerState;
  /**
   * Starts the services and (unless `listen: false`, used by in-process tests
   * that call rest.inject) binds the servers. Ready (/readyz 200) afterwards.
   */
  start(opts?: { listen?: boolean }): Promise<ListenAddresses | undefined>;
  /** Not ready at once (/readyz 503), then closes the servers and stops services. Idempotent. */
  close(): Promise<void>;
}

export async function createJobManager(deps: JobManagerDeps): Promise<JobManager> {
  const { config, plan, logger } = deps;
  let state: JobManagerState = 'created';

  // --- sized resources (network buffer pool, coordination caches) -----------
  // Built from `plan` here and handed to the services below: the pool's one
  // off-heap slab is allocated now, the caches and admission control get
  // their byte budgets, the metrics registry reads them all.
  // Heap/RSS shedding thresholds hold only for a process started with the
  // plan's flags (in-process tests and plain `node` have another heap).
  const planFlags = heapFlagsOf(plan.nodeFlags);
  const expectedHeapLimitBytes = expectedHeapSizeLimitBytes(planFlags.oldMiB ?? 0, planFlags.semiMiB ?? 1);
  const startedWithPlan = getHeapStatistics().heap_size_limit === expectedHeapLimitBytes;
  const memory: MemoryRuntime = createMemoryRuntime(plan, { memoryShedding: startedWithPlan });
  if (!startedWithPlan) logger.warn('V8 heap limit differs from the memory plan: heap/RSS pressure shedding is off (start through bin/jobmanager)');

  // --- services (ResourceManager, Dispatcher, CheckpointCoordinator) --------
  // Constructed here, in dependency order; each gets the clock, the logger
  // child and the resources it needs.
  const clock = systemClock;
  const heartbeatIntervalMs = config.durationMs('heartbeat.interval');
  const resourceManager = new ResourceManager(clock, {
    heartbeatIntervalMs,
    heartbeatTimeoutMs: config.durationMs('heartbeat.timeout'),
  });
  // The storage directory first: an unusable one refuses the boot (exit 78) naming the path.
  const stateStore = await FileStateStore.open({
    dir: resolvePath(deps.cwd ?? process.cwd(), config.string('jobmanager.storage.dir')),
    log: logger.child({ component: 'checkpoints' }),
    maxArchivedJobs: config.integer('jobstore.max-capacity'),
  });
  const rpcToken = resolveToken(config, deps.cwd ?? process.cwd(), logger);
  // JobManager -> TaskManager calls (deploy/cancel): a Pool per TaskManager,
  // closed when the TaskManager is lost.
  const gateway = new HttpTaskExecutorGateway({
    token: rpcToken,
    rpcAddressOf: (id) => resourceManager.rpcAddressOf(id),
    // Outgoing deploy/cancel/trigger batches are built in the plan's network buffers.
    networkBuffers: memory.pool,
  });
  resourceManager.onTaskManagerLost((taskManagerId, cause) => {
    logger.warn({ taskManagerId }, cause);
    void gateway.releaseTaskManager(taskManagerId);
    releaseTaskManager(memory.admission, taskManagerId);
  });
  // TaskManagers are charged to the live-coordination budget (never refused).
  resourceManager.onTaskManagerRegistered((taskManagerId) => {
    chargeTaskManager(memory.admission, taskManagerId, resourceManager.getTaskManager(taskManagerId)?.slotsNumber ?? 1);
  });
  const dispatcher = new Dispatcher({
    clock,
    resourceManager,
    gateway,
    options: {
      slotRequestTimeoutMs: config.durationMs('slot.request.timeout'),
      defaultRestartStrategy: defaultRestartStrategy(config),
      archivedJobsMax: config.integer('jobstore.max-capacity'),
      attemptHistorySize: config.integer('jobmanager.execution.attempts-history-size'),
      exceptionHistorySize: config.integer('web.exception-history-size'),
    },
    log: logger.child({ component: 'dispatcher' }),
    // Admission control: a job whose estimated footprint does not fit the
    // remaining live-coordination budget is refused (REST 503 naming the numbers).
    admitJob: (jobId, jobGraph) => {
      memory.admission.admitJob(jobId, jobShapeOf(jobGraph), jobGraph.name);
      return () => void memory.admission.release(jobId);
    },
    // Terminal jobs live in the archived-jobs cache, bounded in bytes by the plan.
    createArchiveStore: <V extends object>() => memory.caches.archivedJobs.asArchiveStore() as unknown as ArchiveStore<V>,
  });
  // Checkpoints, JobGraph/status persistence and recovery (app/checkpoints). A
  // JobMaster is bound in its CREATED event, i.e. before it schedules, so
  // deployments after a restart carry the latest completed checkpoint.
  const checkpoints = new CheckpointService({
    stateStore,
    clock,
    gateway,
    defaults: checkpointDefaultsFromConfig(config),
    log: logger.child({ component: 'checkpoints' }),
    // Terminal jobs' checkpoint statistics live in the checkpoint-stats cache, bounded in bytes.
    retainTerminalStats: (jobId, bytes, drop) => memory.retainTerminalCheckpointStats(jobId, bytes, drop),
  });
  dispatcher.onJobStatusChange((jobId, status) => {
    if (status !== 'CREATED') return;
    const jm = dispatcher.jobMaster(jobId);
    if (jm) checkpoints.jobCreated(jm);
  });
  let heartbeatTimer: NodeJS.Timeout | undefined;

  // --- adapters --------------------------------------------------------------
  const rest = createRestServer({ logger, bodyLimitBytes: config.sizeBytes('rest.server.max-content-length') });
  // Pressure shedding first, so its hook covers every REST route; the RPC
  // server never gets it (heartbeats and acks are never shed).
  await registerPressureShedding(rest, memory);
  await rest.register(metricsRest, { runtime: memory });
  await rest.register(jobManagerRest, {
    config,
    plan,
    planJson: deps.planJson,
    expectedHeapSizeLimitBytes: expectedHeapLimitBytes,
    containerLimitBytes: deps.containerLimitBytes ?? deps.containerMemory.limitBytes,
    readContainerMemory: deps.readContainerMemory ?? (() => readContainerMemory()),
    state: () => state,
    memoryComponents: () => memory.metrics.components(),
    memoryRuntime: () => ({
      networkBuffers: memory.pool.stats(),
      caches: memory.caches.stats(),
      admission: memory.admission.stats(),
      liveBudget: memory.liveBudget,
      pressure: {
        maxHeapUsedBytes: memory.underPressure.maxHeapUsedBytes,
        maxRssBytes: memory.underPressure.maxRssBytes,
        maxEventLoopDelayMs: memory.underPressure.maxEventLoopDelay,
      },
    }),
  });
  // Other REST plugins (jobs, taskmanagers, checkpoints, overview, metrics)
  // are registered here.
  await rest.register(clusterRest, {
    dispatcher,
    resourceManager,
    whenJobPersisted: (jobId) => checkpoints.whenJobPersisted(jobId),
    flinkMetricGauges: memory.flinkGauges,
  });
  for (const prefix of ['', '/v1']) await rest.register(checkpointsRest, { checkpoints, prefix });

  // The TaskManager-facing RPC server (jobmanager.rpc.port).
  const rpc = buildRpcServer({
    token: rpcToken,
    maxBodyBytes: config.sizeBytes('jobmanager.rpc.max-body-size'),
    resourceManager,
    dispatcher,
    checkpoints,
    logger: logger.child({ server: 'rpc' }) as FastifyBaseLogger,
    // Request bodies are read into the plan's network buffers (503 + Retry-After when exhausted).
    networkBuffers: memory.pool,
  });

  let closing: Promise<void> | undefined;

  return {
    config,
    plan,
    rest,
    rpc,
    resourceManager,
    dispatcher,
    get state() {
      return state;
    },

    async start(opts = {}) {
      if (state !== 'created') throw new Error(`JobManager cannot start: it is ${state}`);
      // Services start here (heartbeat monitor, job recovery), before the
      // servers accept traffic.
      heartbeatTimer = setInterval(() => resourceManager.checkHeartbeats(), Math.min(heartbeatIntervalMs, 1000));
      heartbeatTimer.unref();
      // JobManager restart: jobs of the storage directory come back before
      // TaskManagers can register; each redeploys from its latest completed checkpoint.
      const stored = await checkpoints.loadRecoverableJobs();
      for (const job of [...stored.archived].reverse()) {
        if (job.status === undefined) continue;
        try {
          dispatcher.recoverArchivedJob(job.jobId, job.jobGraph, job.status.status, job.status.startTime, job.status.endTime);
        } catch (err) {
          logger.warn({ jobId: job.jobId, err: (err as Error).message }, 'archived job could not be restored');
        }
      }
      for (const job of stored.active) {
        try {
          dispatcher.recoverJob(job.jobId, job.jobGraph);
          // A cancel that was under way when the JobManager stopped is finished, not undone.
          if (job.status?.status === 'CANCELLING') dispatcher.cancelJob(job.jobId);
          logger.info(
            { jobId: job.jobId, latestCheckpointId: job.recovery.completed.at(-1)?.checkpointId, nextCheckpointId: job.recovery.nextCheckpointId, corruptFiles: job.recovery.corrupt.length },
            'job recovered from the storage directory',
          );
        } catch (err) {
          checkpoints.jobRecoveryFailed(job.jobId);
          logger.error({ jobId: job.jobId, err: (err as Error).message }, 'job found in the storage directory could not be recovered');
        }
      }
      let addresses: ListenAddresses | undefined;
      if (opts.listen !== false) {
        // RPC first: TaskManagers may register as soon as REST reports ready.
        const rpcBound = await listenOn(rpc, config, 'jobmanager.rpc.bind-address', 'jobmanager.rpc.port');
        // Tests and the local cluster read the bound port from this line (jobmanager.rpc.port=0).
        logger.info({ rpcAddress: rpcBound.url, rpcPort: rpcBound.port }, `TaskManager RPC listening on ${rpcBound.url}`);
        const restBound = await listenOn(rest, config, 'rest.bind-address', 'rest.port');
        addresses = { rest: restBound.url, rpc: rpcBound.url };
        // Tests and operators read the bound port from this line (rest.port=0).
        logger.info({ restAddress: restBound.url, restPort: restBound.port }, `REST API listening on ${restBound.url}`);
      } else {
        await rest.ready();
        await rpc.ready();
      }
      state = 'running';
      return addresses;
    },

    close() {
      closing ??= (async () => {
        state = 'stopping';
        logger.info('JobManager shutting down');
        await rest.close();
        await rpc.close();
        // Services stop here, in reverse order of construction.
        if (heartbeatTimer !== undefined) clearInterval(heartbeatTimer);
        dispatcher.close();
        await checkpoints.close();
        await gateway.close();
        memory.close();
        state = 'stopped';
        logger.info('JobManager stopped');
      })();
      return closing;
    },
  };
}

/**
 * Binds `server` to the configured address and port and returns the bound
 * port (port 0 = any) and the URL with it. A port in use or an address not of this host
 * is the operator's to fix: a ConfigError (exit 78) naming both keys.
 */
async function listenOn(server: FastifyInstance, config: Configuration, hostKey: string, portKey: string): Promise<{ url: string; port: number }> {
  const host = config.string(hostKey);
  const port = config.port(portKey);
  try {
    await server.listen({ host, port });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
      throw new ConfigError(
        `cannot listen on ${hostKey} ${host} ${portKey} ${port} (${code}): choose a free port (${portKey}, 0 = any) or an address of this host`,
        [portKey, hostKey],
      );
    }
    throw err;
  }
  const address = server.server.address();
  const bound = typeof address === 'object' && address !== null ? address.port : port;
  return { url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}`, port: bound };
}

/** The RPC bearer token (docs/rpc.md): configured, read from its file, or generated there. */
function resolveToken(config: Configuration, cwd: string, logger: Logger): string {
  const storageDir = config.string('jobmanager.storage.dir');
  const tokenFile = config.optionalString('jobmanager.rpc.auth.token-file');
  try {
    const resolved = resolveRpcToken({
      token: config.optionalString('jobmanager.rpc.auth.token'),
      tokenFile: tokenFile === undefined ? undefined : resolvePath(cwd, tokenFile),
      storageDir: resolvePath(cwd, storageDir),
    });
    if (resolved.warning !== undefined) logger.warn(resolved.warning);
    if (resolved.origin === 'generated') logger.info({ rpcTokenFile: resolved.path }, `generated the TaskManager RPC token into ${resolved.path} (mode 0600)`);
    else if (resolved.origin === 'file') logger.info({ rpcTokenFile: resolved.path }, `TaskManager RPC token read from ${resolved.path}`);
    return resolved.token;
  } catch (err) {
    if (err instanceof RpcTokenError) throw new ConfigError(err.message, ['jobmanager.rpc.auth.token', 'jobmanager.rpc.auth.token-file', 'jobmanager.storage.dir']);
    throw err;
  }
}

/** restart-strategy.* -> the default for JobGraphs without their own restartStrategy. */
function defaultRestartStrategy(config: Configuration): RestartStrategySpec {
  const type = config.string('restart-strategy.type');
  const attempts = config.integer('restart-strategy.fixed-delay.attempts');
  const delay = config.durationMs('restart-strategy.fixed-delay.delay');
  switch (type) {
    case 'none':
      return { type: 'none' };
    case 'fixed-delay':
      return { type: 'fixed-delay', attempts, delay };
    case 'exponential-delay':
      return { type: 'exponential-delay', initialDelay: delay, maxDelay: 5 * 60_000, multiplier: 2, attempts: Number.MAX_SAFE_INTEGER };
    default:
      throw new ConfigError(`restart-strategy.type must be none, fixed-delay or exponential-delay, got ${JSON.stringify(type)}`, ['restart-strategy.type']);
  }
}

const resolvePath = (cwd: string, path: string): string => (isAbsolute(path) ? path : resolve(cwd, path));
