// The effective configuration: every key's value and where it came from, with
// precedence command line > environment > appsettings.json > default
// (memory-model.md "Sources and precedence"), and typed getters whose errors
// name the key, the value and what is accepted.
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { splitConfigArgs } from './args.js';
import { readEnvSource, knownEnvVarNames } from './env.js';
import { ConfigError } from './errors.js';
import { readSettingsFile } from './file.js';
import { envVarName, KEYS, keySpec, knownKeyNames, type KeySpec } from './keys.js';
import { closest } from './suggest.js';
import {
  parseBoolean,
  parseFraction,
  parseInteger,
  parseKind,
  parsePort,
  parseString,
} from './values.js';
import { parseDurationMs } from '../memory/duration.js';
import { parseSize } from '../memory/units.js';

export type ConfigSourceKind = 'cli' | 'env' | 'file' | 'default';

export interface ConfigEntry {
  /** Canonical key name. */
  readonly key: string;
  /** The raw text as given (or the default's text). */
  readonly value: string;
  readonly source: ConfigSourceKind;
  /** Human detail: `--jobmanager.memory.process.size`, `env JOBMANAGER_PROCESS_MEMORY_SIZE`, `file ./appsettings.json`, `default`. */
  readonly origin: string;
  readonly spec: KeySpec | undefined;
}

export interface LoadOptions {
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
}

export const SECRET_MASK = '******';

/** The value as it may be shown (logs, GET /jobmanager/config): secrets masked. */
export function displayValue(entry: Pick<ConfigEntry, 'value' | 'spec'>): string {
  return entry.spec?.secret ? SECRET_MASK : entry.value;
}

/** The default file name looked up in the working directory. */
export const DEFAULT_SETTINGS_FILE = 'appsettings.json';

export class Configuration {
  /** Non-fatal findings (unknown keys with the closest known one). */
  readonly warnings: readonly string[];
  /** The settings file that was read (as named on the command line / env), if any. */
  readonly configFile: string | undefined;
  /** Command-line arguments that are not configuration (subcommand flags), in order. */
  readonly rest: readonly string[];
  readonly #effective: ReadonlyMap<string, ConfigEntry>;

  constructor(
    effective: ReadonlyMap<string, ConfigEntry>,
    warnings: readonly string[] = [],
    configFile: string | undefined = undefined,
    rest: readonly string[] = [],
  ) {
    this.#effective = effective;
    this.warnings = warnings;
    this.configFile = configFile;
    this.rest = rest;
  }

  /** The effective entry (configured or default) for a key or alias; raw value, secrets included. */
  entry(name: string): ConfigEntry | undefined {
    const spec = keySpec(name);
    return spec ? this.#effective.get(spec.key) : undefined;
  }

  /** True when a source (not a default) gave the key. */
  isConfigured(name: string): boolean {
    const entry = this.entry(name);
    return entry !== undefined && entry.source !== 'default';
  }

  /** True when the key has a value (configured or default). */
  isSet(name: string): boolean {
    return this.entry(name) !== undefined;
  }

  /** Every effective key in registry order, defaults included; secret values masked. */
  entries(): ConfigEntry[] {
    return KEYS.flatMap((spec) => {
      const entry = this.#effective.get(spec.key);
      return entry ? [{ ...entry, value: displayValue(entry) }] : [];
    });
  }

  sizeBytes(name: string): number {
    return this.#required(name, parseSize);
  }
  optionalSizeBytes(name: string): number | undefined {
    return this.#optional(name, parseSize);
  }
  fraction(name: string): number {
    return this.#required(name, parseFraction);
  }
  integer(name: string): number {
    return this.#required(name, parseInteger);
  }
  port(name: string): number {
    return this.#required(name, parsePort);
  }
  durationMs(name: string): number {
    return this.#required(name, parseDurationMs);
  }
  optionalDurationMs(name: string): number | undefined {
    return this.#optional(name, parseDurationMs);
  }
  string(name: string): string {
    return this.#required(name, parseString);
  }
  optionalString(name: string): string | undefined {
    return this.#optional(name, parseString);
  }
  boolean(name: string): boolean {
    return this.#required(name, parseBoolean);
  }

  #optional<T>(name: string, parse: (text: string, key: string, origin?: string) => T): T | undefined {
    const spec = keySpec(name);
    if (!spec) throw new Error(`not a configuration key: ${name} (add it to app/config/keys.ts)`);
    const entry = this.#effective.get(spec.key);
    if (entry === undefined) return undefined;
    const value = parse(entry.value, spec.key, entry.origin);
    if (typeof value === 'number' && ((spec.min !== undefined && value < spec.min) || (spec.max !== undefined && value > spec.max))) {
      throw new ConfigError(`${spec.key} ${JSON.stringify(entry.value)} (${entry.origin}) is invalid; accepted: ${acceptedRange(spec)}`, [spec.key]);
    }
    return value;
  }

  #required<T>(name: string, parse: (text: string, key: string, origin?: string) => T): T {
    const value = this.#optional(name, parse);
    if (value === undefined) {
      const spec = keySpec(name) as KeySpec;
      throw new ConfigError(
        `${spec.key} is not set; set it on the command line (--${spec.key}=...), in the environment (${envVarName(spec.key)}) or in appsettings.json`,
        [spec.key],
      );
    }
    return value;
  }
}

/** "a whole number from 0 to 255", "a duration of at least 1 ms", ... */
function acceptedRange(spec: KeySpec): string {
  const unit = spec.kind === 'duration' ? ' ms' : '';
  const what = spec.kind === 'duration' ? 'a duration' : 'a whole number';
  if (spec.max === undefined) return `${what} of at least ${spec.min}${unit}`;
  return `${what} from ${spec.min ?? 0}${unit} to ${spec.max}${unit}`;
}

interface RawEntry {
  readonly name: string;
  readonly value: string;
  readonly origin: string;
}

const SOURCE_LABEL: Record<Exclude<ConfigSourceKind, 'default'>, string> = {
  cli: 'on the command line',
  env: 'in the environment',
  file: 'in the configuration file',
};

/** Reads command line, environment and settings file (in that precedence) into a Configuration. */
export function loadConfiguration(opts: LoadOptions): Configuration {
  const warnings: string[] = [];
  const args = splitConfigArgs(opts.argv);
  const env = readEnvSource(opts.env);

  let fileEntries: RawEntry[] = [];
  const explicitFile = args.configFile ?? env.configFile;
  let configFile: string | undefined;
  if (explicitFile !== undefined) {
    configFile = explicitFile;
    fileEntries = readSettingsFile(resolvePath(opts.cwd, explicitFile), explicitFile);
  } else if (existsSync(resolve(opts.cwd, DEFAULT_SETTINGS_FILE))) {
    configFile = `./${DEFAULT_SETTINGS_FILE}`;
    fileEntries = readSettingsFile(resolve(opts.cwd, DEFAULT_SETTINGS_FILE), configFile);
  }

  const cli = bySpec('cli', args.entries, warnings);
  const fromEnv = bySpec('env', env.entries, warnings);
  const file = bySpec('file', fileEntries, warnings);

  const envNames = knownEnvVarNames();
  for (const envVar of env.unknown) {
    const near = closest(envVar, envNames);
    const key = near ? keyForEnvVar(near.name) : undefined;
    warnings.push(
      `unknown environment variable ${envVar} is ignored` +
        (near ? `; did you mean ${near.name}${key ? ` (${key})` : ''}?` : ''),
    );
  }

  const effective = new Map<string, ConfigEntry>();
  for (const spec of KEYS) {
    const entry: ConfigEntry | undefined =
      cli.get(spec.key) ??
      fromEnv.get(spec.key) ??
      file.get(spec.key) ??
      (spec.defaultValue === undefined
        ? undefined
        : { key: spec.key, value: spec.defaultValue, source: 'default', origin: 'default', spec });
    if (entry === undefined) continue;
    // Validate every effective value now, so a bad value fails at start-up
    // (exit 78) rather than when some component first reads it.
    parseKind(spec.kind, entry.value, spec.key, entry.origin);
    effective.set(spec.key, entry);
  }
  return new Configuration(effective, warnings, configFile, args.rest);
}

function resolvePath(cwd: string, path: string): string {
  return isAbsolute(path) ? path : resolve(cwd, path);
}

function keyForEnvVar(envVar: string): string | undefined {
  return KEYS.find((spec) => envVarName(spec.key) === envVar || spec.aliases.some((a) => envVarName(a) === envVar))?.key;
}

/**
 * Groups one source's entries by canonical key. A key given under two names
 * (alias and canonical) with different values is an error; the same name
 * repeated keeps the last value (so a launcher can append overrides).
 * Unknown names become warnings.
 */
function bySpec(source: Exclude<ConfigSourceKind, 'default'>, raw: readonly RawEntry[], warnings: string[]): Map<string, ConfigEntry> {
  const chosen = new Map<string, ConfigEntry & { name: string }>();
  const known = knownKeyNames();
  for (const item of raw) {
    const spec = keySpec(item.name);
    if (!spec) {
      const near = closest(item.name, known);
      if (item.name.startsWith('jobmanager.') || (near !== undefined && near.distance <= 2)) {
        warnings.push(
          `unknown configuration key ${item.name} (${item.origin}) is ignored` + (near ? `; did you mean ${near.name}?` : ''),
        );
      }
      continue;
    }
    const previous = chosen.get(spec.key);
    if (previous && previous.name !== item.name && !sameValue(spec, previous.value, item.value)) {
      throw new ConfigError(
        `${spec.key} is given twice ${SOURCE_LABEL[source]} with different values: ` +
          `${given(previous.origin, previous.name, displayValue({ value: previous.value, spec }))} and ` +
          `${given(item.origin, item.name, displayValue({ value: item.value, spec }))}; ` +
          `give only one of ${previous.name} and ${item.name}`,
        [spec.key, ...spec.aliases.filter((a) => a === previous.name || a === item.name)],
      );
    }
    chosen.set(spec.key, { key: spec.key, value: item.value, source, origin: item.origin, spec, name: item.name });
  }
  return new Map([...chosen].map(([key, { name: _name, ...entry }]) => [key, entry]));
}

/** `--a.b="1g"`, `env A_B="1g" (a.b)` or `a.b="1g" (file x.json)`. */
function given(origin: string, name: string, value: string): string {
  const text = JSON.stringify(value);
  if (origin.endsWith(name)) return `${origin}=${text}`;
  return origin.startsWith('file ') ? `${name}=${text} (${origin})` : `${origin}=${text} (${name})`;
}

function sameValue(spec: KeySpec, a: string, b: string): boolean {
  if (a.trim() === b.trim()) return true;
  try {
    return parseKind(spec.kind, a, spec.key) === parseKind(spec.kind, b, spec.key);
  } catch {
    return false;
  }
}
