// The composition root: the one place that builds the JobManager's object
// graph. Data flows one way: config -> plan -> sized resources -> services ->
// adapters (Fastify servers). app/main.ts calls it for the real process;
// tests build the same graph through test/helpers/jobmanager.ts.
//
// Adding a service: construct it in createJobManager under the matching
// section below, pass it to the adapters that need it, and stop it in close()
// (reverse order of construction).
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Configuration } from './config/configuration.js';
import { ConfigError } from './config/errors.js';
import { jobManagerRest, type JobManagerState } from './http/rest/jobmanager.js';
import { createRestServer } from './http/server.js';
import { readContainerMemory, type ContainerMemory } from './memory/cgroup.js';
import type { MemoryPlan } from './memory/plan.js';
import { expectedHeapSizeLimitBytes, heapFlagsOf } from './memory/self-check.js';

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
}

export interface ListenAddresses {
  /** e.g. http://127.0.0.1:8081 */
  readonly rest: string;
}

export interface JobManager {
  readonly config: Configuration;
  readonly plan: MemoryPlan;
  readonly rest: FastifyInstance;
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
  // Built from `plan` here and handed to the services below.

  // --- services (ResourceManager, Dispatcher, CheckpointCoordinator) --------
  // Constructed here, in dependency order; each gets the clock, the logger
  // child and the resources it needs.

  // --- adapters --------------------------------------------------------------
  const rest = createRestServer({ logger, bodyLimitBytes: config.sizeBytes('rest.server.max-content-length') });
  const flags = heapFlagsOf(plan.nodeFlags);
  await rest.register(jobManagerRest, {
    config,
    plan,
    planJson: deps.planJson,
    expectedHeapSizeLimitBytes: expectedHeapSizeLimitBytes(flags.oldMiB ?? 0, flags.semiMiB ?? 1),
    containerLimitBytes: deps.containerLimitBytes ?? deps.containerMemory.limitBytes,
    readContainerMemory: deps.readContainerMemory ?? (() => readContainerMemory()),
    state: () => state,
  });
  // Other REST plugins (jobs, taskmanagers, checkpoints, overview, metrics)
  // are registered here.

  // The TaskManager-facing RPC server (jobmanager.rpc.port) is built here.

  let closing: Promise<void> | undefined;

  return {
    config,
    plan,
    rest,
    get state() {
      return state;
    },

    async start(opts = {}) {
      if (state !== 'created') throw new Error(`JobManager cannot start: it is ${state}`);
      // Services start here (heartbeat monitor, job recovery), before the
      // servers accept traffic.
      let addresses: ListenAddresses | undefined;
      if (opts.listen !== false) {
        const host = config.string('rest.bind-address');
        const port = config.port('rest.port');
        try {
          await rest.listen({ host, port });
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
            throw new ConfigError(
              `cannot listen on rest.bind-address ${host} rest.port ${port} (${code}): choose a free port (rest.port, 0 = any) or an address of this host`,
              ['rest.port', 'rest.bind-address'],
            );
          }
          throw err;
        }
        const address = rest.server.address();
        const bound = typeof address === 'object' && address !== null ? address.port : port;
        addresses = { rest: `http://${host.includes(':') ? `[${host}]` : host}:${bound}` };
        // Tests and operators read the bound port from this line (rest.port=0).
        logger.info({ restAddress: addresses.rest, restPort: bound }, `REST API listening on ${addresses.rest}`);
      } else {
        await rest.ready();
      }
      state = 'running';
      return addresses;
    },

    close() {
      closing ??= (async () => {
        state = 'stopping';
        logger.info('JobManager shutting down');
        await rest.close();
        // Services stop here, in reverse order of construction.
        state = 'stopped';
        logger.info('JobManager stopped');
      })();
      return closing;
    },
  };
}
