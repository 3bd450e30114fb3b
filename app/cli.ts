// `node dist/cli.js <subcommand> ...`: a small table of subcommands. To add
// one, write app/cli/<name>.ts with `run(args): Promise<number>` and add one
// line to SUBCOMMANDS. Subcommand modules load lazily so `memory flags` (run
// by bin/jobmanager before every start) stays quick.
//
// Errors: a ConfigError prints its one-line message on stderr and exits 78
// (no stack); a CliUsageError prints the message and usage, exits 64.
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { ConfigError } from './config/errors.js';
import { CliUsageError, EXIT_CONFIG, EXIT_OK, EXIT_SOFTWARE, EXIT_USAGE } from './cli/context.js';

interface Subcommand {
  readonly summary: string;
  readonly run: (args: readonly string[]) => Promise<number>;
}

const SUBCOMMANDS: Readonly<Record<string, Subcommand>> = {
  memory: {
    summary: 'memory plan [--json] | memory flags   the memory plan / node flags for a configuration',
    run: async (args) => (await import('./cli/memory.js')).run(args),
  },
  'taskmanager-sim': {
    summary: 'taskmanager-sim [options]            simulated TaskManagers speaking the real RPC protocol',
    run: async (args) => (await import('./cli/taskmanager-sim.js')).runTaskManagerSim(args),
  },
  size: {
    summary: 'size --jobs N --subtasks M --taskmanagers K [...]   the memory limit a workload needs',
    run: async (args) => (await import('./cli/size.js')).run(args),
  },
};

export function usage(): string {
  const lines = Object.values(SUBCOMMANDS).map((s) => `  jobmanager ${s.summary}`);
  return `Usage:\n${lines.join('\n')}\n\nRun \`jobmanager <subcommand> --help\` for details.\n`;
}

/** One line, whatever the message holds. */
const oneLine = (text: string): string => text.replace(/\s*[\r\n]+\s*/g, ' ').trim();

export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    (name === undefined ? process.stderr : process.stdout).write(usage());
    return name === undefined ? EXIT_USAGE : EXIT_OK;
  }
  const subcommand = Object.hasOwn(SUBCOMMANDS, name) ? SUBCOMMANDS[name] : undefined;
  try {
    if (subcommand === undefined) throw new CliUsageError(`unknown subcommand ${JSON.stringify(name)}`, usage());
    return await subcommand.run(args);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${oneLine(err.message)}\n`);
      return EXIT_CONFIG;
    }
    if (err instanceof CliUsageError) {
      process.stderr.write(`${oneLine(err.message)}\n\n${err.usage}`);
      return EXIT_USAGE;
    }
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return EXIT_SOFTWARE;
  }
}

// Run only as the entry script (tests may import main()).
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  process.exitCode = await main(process.argv.slice(2));
}
