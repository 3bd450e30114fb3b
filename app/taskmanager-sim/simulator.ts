// N simulated TaskManagers in one process: one HTTP endpoint routing by
// TaskManager id, one undici Pool to the JobManager, one identity per
// TaskManager. Killing the process stops every heartbeat at once, which is
// exactly what the JobManager sees when real TaskManagers are lost.
import { randomBytes } from 'node:crypto';
import { cpus, networkInterfaces, totalmem } from 'node:os';
import type { FastifyBaseLogger } from 'fastify';
import { JobManagerClient } from './jobmanager-client.js';
import { buildSimulatorServer } from './server.js';
import { SimulatedTaskManager } from './task-manager.js';

export interface SimulatorOptions {
  /** JobManager RPC base URL, e.g. http://127.0.0.1:6123 */
  jobManagerUrl: string;
  token: string;
  count: number;
  slotsPerTaskManager: number;
  /** Address the simulator's HTTP endpoint binds to. */
  bindHost?: string;
  /**
   * Host the JobManager calls back (in the registered rpcAddress). Default: the
   * bind address, or for a wildcard bind (0.0.0.0, ::) the first non-internal
   * IPv4 address of this host (a pod's IP in Kubernetes), else 127.0.0.1.
   */
  advertisedHost?: string;
  /** 0 = ephemeral */
  port?: number;
  /** TaskManager ids are `<prefix>-<n>`; default `sim-<6 random hex>` so a restarted process is a new TaskManager. */
  idPrefix?: string;
  logger: FastifyBaseLogger;
  maxBodyBytes?: number;
  registrationRetryMs?: number;
  reportFlushMs?: number;
  /** Advertised memory per TaskManager (bytes); default: physical memory / count. */
  memoryBytesPerTaskManager?: number;
}

export interface RunningSimulator {
  /** The advertised rpcAddress of every TaskManager of this process. */
  rpcAddress: string;
  taskManagers: readonly SimulatedTaskManager[];
  stop(): Promise<void>;
}

export async function startSimulator(options: SimulatorOptions): Promise<RunningSimulator> {
  if (!Number.isInteger(options.count) || options.count < 1) throw new RangeError(`--count must be an integer >= 1, got ${options.count}`);
  if (!Number.isInteger(options.slotsPerTaskManager) || options.slotsPerTaskManager < 1) {
    throw new RangeError(`--slots must be an integer >= 1, got ${options.slotsPerTaskManager}`);
  }
  const bindHost = options.bindHost ?? '127.0.0.1';
  const prefix = options.idPrefix ?? `sim-${randomBytes(3).toString('hex')}`;
  const byId = new Map<string, SimulatedTaskManager>();

  const server = buildSimulatorServer({
    token: options.token,
    maxBodyBytes: options.maxBodyBytes ?? 64 * 1024 * 1024,
    logger: options.logger,
    taskManager: (id) => byId.get(id),
  });
  await server.listen({ host: bindHost, port: options.port ?? 0 });
  const address = server.server.address();
  if (address === null || typeof address === 'string') throw new Error('the simulator server has no TCP address');
  const host = options.advertisedHost ?? (bindHost === '0.0.0.0' || bindHost === '::' ? externalIPv4() ?? '127.0.0.1' : bindHost);
  const rpcAddress = `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;

  const client = new JobManagerClient({
    url: options.jobManagerUrl,
    token: options.token,
    connections: Math.min(options.count * 2, 16),
  });
  const memoryBytes = options.memoryBytesPerTaskManager ?? Math.floor(totalmem() / options.count);
  const cpuCores = Math.max(1, Math.floor(cpus().length / options.count)) ;
  const taskManagers: SimulatedTaskManager[] = [];
  for (let i = 0; i < options.count; i++) {
    const tm = new SimulatedTaskManager({
      taskManagerId: `${prefix}-${i}`,
      numberOfSlots: options.slotsPerTaskManager,
      rpcAddress,
      client,
      logger: options.logger,
      registrationRetryMs: options.registrationRetryMs ?? 500,
      reportFlushMs: options.reportFlushMs ?? 5,
      memoryBytes,
      cpuCores,
    });
    byId.set(tm.taskManagerId, tm);
    taskManagers.push(tm);
  }
  for (const tm of taskManagers) tm.start();

  let stopping: Promise<void> | undefined;
  return {
    rpcAddress,
    taskManagers,
    stop() {
      stopping ??= (async () => {
        await Promise.all(taskManagers.map((tm) => tm.stop()));
        await server.close();
        await client.close();
      })();
      return stopping;
    },
  };
}

/** The first non-internal IPv4 address of this host, if any. */
function externalIPv4(): string | undefined {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const a of addresses ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return undefined;
}
