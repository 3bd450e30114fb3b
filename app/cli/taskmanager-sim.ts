// `jobmanager taskmanager-sim`: runs N simulated TaskManagers in this process
// until SIGINT/SIGTERM. Usage errors throw CliUsageError (app/cli.ts prints
// the line and the usage, exit 64).
import { parseArgs } from 'node:util';
import pino from 'pino';
import { CliUsageError } from './context.js';
import { defaultTokenPath, readTokenFile, RpcTokenError } from '../http/rpc/token.js';
import { startSimulator } from '../taskmanager-sim/simulator.js';

export const TASKMANAGER_SIM_USAGE = `Usage: jobmanager taskmanager-sim [options]

Runs simulated TaskManagers that speak the real RPC protocol (docs/rpc.md).

Options:
  --jobmanager URL     JobManager RPC address (default http://127.0.0.1:6123)
  --count N            TaskManagers in this process (default 1)
  --slots S            slots per TaskManager (default 4)
  --token T            RPC bearer token (default: env JOBMANAGER_RPC_AUTH_TOKEN)
  --token-file F       file holding the token (default: env
                       JOBMANAGER_RPC_AUTH_TOKEN_FILE, else <storage dir>/rpc-token)
  --storage-dir D      the local JobManager's jobmanager.storage.dir (default:
                       env JOBMANAGER_STORAGE_DIR, else ./data)
  --bind HOST          address of this process's TaskManager endpoint (default 127.0.0.1)
  --advertise HOST     host the JobManager calls back (default: env
                       TASKMANAGER_HOST, else the bind address, or for a wildcard
                       bind this host's first non-internal IPv4, e.g. the pod IP)
  --port P             its port (default 0 = ephemeral)
  --id-prefix P        TaskManager ids are <P>-0..<P>-(N-1) (default sim-<random>)
  --log-level L        pino level (default info)
  -h, --help           this text

Synthetic tasks run until canceled unless their vertex config says otherwise:
  sim.initialize-ms, sim.finish-after-ms, sim.fail-after-ms,
  sim.fail-attempts, sim.fail-subtasks (see app/taskmanager-sim/README.md).
`;

class UsageError extends CliUsageError {
  constructor(message: string) {
    super(message, TASKMANAGER_SIM_USAGE);
  }
}

function positiveInt(name: string, raw: string | undefined, fallback: number, max: number): number {
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw.trim()) || Number(raw) < 1 || Number(raw) > max) {
    throw new UsageError(`--${name} must be an integer in [1, ${max}], got ${JSON.stringify(raw)}`);
  }
  return Number(raw);
}

export interface SimCliOptions {
  jobManagerUrl: string;
  count: number;
  slots: number;
  token: string;
  bindHost: string;
  advertisedHost: string | undefined;
  port: number;
  idPrefix: string | undefined;
  logLevel: string;
}

/** Parses argv (without the subcommand). Returns undefined for --help. */
export function parseTaskManagerSimArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): SimCliOptions | undefined {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        jobmanager: { type: 'string' },
        count: { type: 'string' },
        slots: { type: 'string' },
        token: { type: 'string' },
        'token-file': { type: 'string' },
        'storage-dir': { type: 'string' },
        bind: { type: 'string' },
        advertise: { type: 'string' },
        port: { type: 'string' },
        'id-prefix': { type: 'string' },
        'log-level': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    throw new UsageError(`taskmanager-sim: ${(err as Error).message}`);
  }
  if (values.help === true) return undefined;

  const jobManagerUrl = values.jobmanager ?? 'http://127.0.0.1:6123';
  let parsedUrl: URL;
  try {
    parsedUrl = new URL(jobManagerUrl);
  } catch {
    throw new UsageError(`--jobmanager must be a URL like http://127.0.0.1:6123, got ${JSON.stringify(jobManagerUrl)}`);
  }
  if (parsedUrl.protocol !== 'http:' && parsedUrl.protocol !== 'https:') {
    throw new UsageError(`--jobmanager must use http:// or https://, got ${JSON.stringify(jobManagerUrl)}`);
  }

  let token = values.token ?? env.JOBMANAGER_RPC_AUTH_TOKEN;
  if (token === undefined || token.trim() === '') {
    const file = values['token-file'] ?? env.JOBMANAGER_RPC_AUTH_TOKEN_FILE
      ?? defaultTokenPath(values['storage-dir'] ?? env.JOBMANAGER_STORAGE_DIR ?? './data');
    try {
      token = readTokenFile(file);
    } catch (err) {
      if (err instanceof RpcTokenError) throw new UsageError(`taskmanager-sim: ${err.message}`);
      throw err;
    }
  }
  const portRaw = values.port;
  let port = 0;
  if (portRaw !== undefined) {
    if (!/^\d+$/.test(portRaw) || Number(portRaw) > 65535) throw new UsageError(`--port must be an integer in [0, 65535], got ${JSON.stringify(portRaw)}`);
    port = Number(portRaw);
  }
  return {
    jobManagerUrl,
    count: positiveInt('count', values.count, 1, 10_000),
    slots: positiveInt('slots', values.slots, 4, 100_000),
    token: token.trim(),
    bindHost: values.bind ?? '127.0.0.1',
    advertisedHost: values.advertise ?? env.TASKMANAGER_HOST,
    port,
    idPrefix: values['id-prefix'],
    logLevel: values['log-level'] ?? 'info',
  };
}

/** Entry for app/cli.ts. Resolves with the exit code once stopped by a signal. */
export async function runTaskManagerSim(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<number> {
  const options = parseTaskManagerSimArgs(argv, env);
  if (options === undefined) {
    process.stdout.write(TASKMANAGER_SIM_USAGE);
    return 0;
  }
  const logger = pino({ name: 'taskmanager-sim', level: options.logLevel });
  const simulator = await startSimulator({
    jobManagerUrl: options.jobManagerUrl,
    token: options.token,
    count: options.count,
    slotsPerTaskManager: options.slots,
    bindHost: options.bindHost,
    port: options.port,
    logger,
    ...(options.idPrefix !== undefined ? { idPrefix: options.idPrefix } : {}),
    ...(options.advertisedHost !== undefined ? { advertisedHost: options.advertisedHost } : {}),
  });
  logger.info(
    { jobManager: options.jobManagerUrl, rpcAddress: simulator.rpcAddress, taskManagers: simulator.taskManagers.map((t) => t.taskManagerId), slots: options.slots },
    `started ${options.count} simulated TaskManager(s)`,
  );
  return await new Promise<number>((resolve) => {
    let stopping = false;
    const shutdown = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'stopping simulated TaskManagers');
      simulator.stop().then(() => resolve(0), () => resolve(1));
    };
    process.once('SIGINT', shutdown);
    process.once('SIGTERM', shutdown);
  });
}

/** The subcommand convention of app/cli.ts. */
export const run = (args: readonly string[]): Promise<number> => runTaskManagerSim(args);
