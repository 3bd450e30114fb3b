// Command-line configuration: `--key=value`, `--key value`, `-D key=value`,
// `-Dkey=value` and `--config PATH`, separated from every other argument
// (subcommand flags such as `--json`) so callers can parse those themselves.
//
// Hand-written rather than node:util parseArgs: a config key is any dotted
// long option, which parseArgs cannot declare up front; the subcommands use
// parseArgs for their own flags on the `rest` this returns.
import { ConfigError } from './errors.js';

export interface CliConfigEntry {
  /** The name as given (canonical key, alias or unknown). */
  readonly name: string;
  readonly value: string;
  /** e.g. `--jobmanager.process.memory.size` or `-D jobmanager.process.memory.size`. */
  readonly origin: string;
}

export interface SplitArgs {
  readonly entries: readonly CliConfigEntry[];
  /** `--config PATH`, when given (last one wins). */
  readonly configFile: string | undefined;
  /** Every argument that is not configuration, in order (`--` and what follows included). */
  readonly rest: readonly string[];
}

/** A long option is configuration when its name is dotted, like every key. */
const isKeyName = (name: string): boolean => /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)+$/.test(name);

export function splitConfigArgs(argv: readonly string[]): SplitArgs {
  const entries: CliConfigEntry[] = [];
  const rest: string[] = [];
  let configFile: string | undefined;

  const missing = (option: string, what: string, key?: string): never => {
    throw new ConfigError(`command line option ${option} needs ${what}`, key === undefined ? [] : [key]);
  };
  const define = (text: string, option: string): void => {
    const eq = text.indexOf('=');
    const name = eq > 0 ? text.slice(0, eq).trim() : '';
    if (!isKeyName(name)) missing(option, `a key=value argument (e.g. -D jobmanager.process.memory.size=1g), got ${JSON.stringify(text)}`);
    entries.push({ name, value: text.slice(eq + 1), origin: `-D ${name}` });
  };

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      rest.push(...argv.slice(i));
      break;
    }
    if (arg === '-D') {
      const next = argv[i + 1];
      if (next === undefined) missing('-D', 'a key=value argument');
      define(next as string, '-D');
      i++;
      continue;
    }
    if (arg.startsWith('-D') && !arg.startsWith('--')) {
      define(arg.slice(2), arg);
      continue;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
      const isConfigFile = name === 'config';
      if (isConfigFile || isKeyName(name)) {
        let value: string;
        if (eq >= 0) {
          value = arg.slice(eq + 1);
        } else {
          const next = argv[i + 1];
          if (next === undefined || next.startsWith('--')) missing(`--${name}`, isConfigFile ? 'a file path' : 'a value', isConfigFile ? undefined : name);
          value = next as string;
          i++;
        }
        if (isConfigFile) configFile = value;
        else entries.push({ name, value, origin: `--${name}` });
        continue;
      }
    }
    rest.push(arg);
  }
  return { entries, configFile, rest };
}
