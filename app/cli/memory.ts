// `jobmanager memory plan [--json]` and `jobmanager memory flags`: the memory
// plan for the given configuration (command line, environment,
// appsettings.json) and the container's cgroup limit. `flags` is what
// bin/jobmanager runs before exec'ing node: the V8 flags on one line.
import { parseArgs } from 'node:util';
import { splitConfigArgs } from '../config/args.js';
import { loadConfiguration } from '../config/configuration.js';
import { formatPlanTable, planMemory, planToJson } from '../memory/plan.js';
import { CliUsageError, EXIT_OK, processContext, type CliContext } from './context.js';

export const MEMORY_USAGE = `Usage: jobmanager memory plan [--json] [config...]
       jobmanager memory flags [config...]

  plan    the memory plan as a table (or one JSON object with --json, sizes in bytes)
  flags   the node flags of the plan on one line (used by bin/jobmanager)

config: --key=value, --key value, -D key=value, -Dkey=value, --config FILE
        (also from the environment, e.g. JOBMANAGER_PROCESS_MEMORY_SIZE=1g, and
        ./appsettings.json); see docs/memory.md.
Exit codes: 0 ok, 64 usage, 78 configuration error (one line on stderr).
`;

export async function run(args: readonly string[], ctx: CliContext = processContext()): Promise<number> {
  const [action, ...rest] = args;
  if (action === '--help' || action === '-h' || action === 'help') {
    ctx.stdout(MEMORY_USAGE);
    return EXIT_OK;
  }
  if (action !== 'plan' && action !== 'flags') {
    throw new CliUsageError(
      action === undefined ? 'memory: missing action (plan or flags)' : `memory: unknown action ${JSON.stringify(action)}; expected plan or flags`,
      MEMORY_USAGE,
    );
  }

  // Subcommand flags are what is not configuration; reject unknown ones first.
  const flagArgs = [...splitConfigArgs(rest).rest];
  let json = false;
  try {
    const { values } = parseArgs({
      args: flagArgs,
      options: action === 'plan' ? { json: { type: 'boolean' } } : {},
      strict: true,
      allowPositionals: false,
    });
    json = values.json === true;
  } catch (err) {
    throw new CliUsageError(`memory ${action}: ${(err as Error).message.split('\n')[0]}`, MEMORY_USAGE);
  }

  const config = loadConfiguration({ argv: rest, env: ctx.env, cwd: ctx.cwd });
  const cgroup = ctx.containerMemory();
  const { plan, containerLimit } = planMemory(config, cgroup.limitBytes);

  if (action === 'flags') {
    ctx.stdout(`${plan.nodeFlags.join(' ')}\n`);
  } else if (json) {
    ctx.stdout(`${JSON.stringify(planToJson(plan, config, containerLimit))}\n`);
  } else {
    ctx.stdout(`${formatPlanTable(plan)}\n`);
    ctx.stdout(
      `  Container limit: ${containerLimit.bytes === undefined ? 'none' : `${containerLimit.bytes} bytes (${containerLimit.origin})`}\n`,
    );
    // Where every memory setting came from (memory-model.md: visible in `memory plan`).
    const { sources } = planToJson(plan, config, containerLimit);
    const width = Math.max(...Object.keys(sources).map((k) => k.length));
    ctx.stdout(`Sources:\n${Object.entries(sources).map(([key, origin]) => `  ${key.padEnd(width)}  ${origin}`).join('\n')}\n`);
  }
  for (const warning of [...config.warnings, ...cgroup.warnings, ...plan.warnings]) ctx.stderr(`warning: ${warning}\n`);
  return EXIT_OK;
}
