// What every CLI subcommand shares: exit codes (sysexits.h), the usage error,
// and the process surroundings as an injectable context so subcommands can be
// tested in-process without spawning.
import { readContainerMemory } from '../memory/cgroup.js';

export const EXIT_OK = 0;
/** EX_USAGE: wrong arguments; usage is printed. */
export const EXIT_USAGE = 64;
/** EX_SOFTWARE: a bug (unexpected exception). */
export const EXIT_SOFTWARE = 70;
/** EX_CONFIG: configuration or memory plan problem (ConfigError). */
export const EXIT_CONFIG = 78;

export class CliUsageError extends Error {
  readonly exitCode = EXIT_USAGE;
  /** Usage text printed after the one-line message. */
  readonly usage: string;
  constructor(message: string, usage: string) {
    super(message);
    this.name = 'CliUsageError';
    this.usage = usage;
  }
}

export interface CliContext {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** The cgroup's memory limit (undefined = none); tests inject a fixed one. */
  readonly containerMemory: () => { limitBytes: number | undefined; warnings: readonly string[] };
}

export function processContext(): CliContext {
  return {
    env: process.env,
    cwd: process.cwd(),
    stdout: (text) => void process.stdout.write(text),
    stderr: (text) => void process.stderr.write(text),
    containerMemory: () => {
      const { limitBytes, warnings } = readContainerMemory();
      return { limitBytes, warnings };
    },
  };
}
