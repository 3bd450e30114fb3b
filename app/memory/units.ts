// Memory sizes: parsing (Flink syntax first, then Kubernetes quantities) and
// Flink-style human formatting. Pure functions, no I/O.
import { ConfigError } from '../config/errors.js';

export const KiB = 1024;
export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;

/** floor(x / 1 MiB) * 1 MiB: the plan works in whole MiB (memory-model.md). */
export function mib(bytes: number): number {
  return Math.floor(bytes / MiB) * MiB;
}

// Flink's MemorySize units (case-insensitive there, too).
const FLINK_UNITS: ReadonlyMap<string, number> = new Map([
  ['', 1],
  ['b', 1],
  ['bytes', 1],
  ['k', KiB],
  ['kb', KiB],
  ['kibibytes', KiB],
  ['m', MiB],
  ['mb', MiB],
  ['mebibytes', MiB],
  ['g', GiB],
  ['gb', GiB],
  ['gibibytes', GiB],
  ['t', 1024 * GiB],
  ['tb', 1024 * GiB],
  ['tebibytes', 1024 * GiB],
]);

// Kubernetes decimal suffixes that are upper-case single letters. They are the
// only exception to "Flink first": the spec fixes 1G = 10^9 and 500M = 5x10^8,
// while lower-case k and m stay Flink's KiB and MiB (never kilo or milli).
const K8S_DECIMAL: ReadonlyMap<string, number> = new Map([
  ['M', 1e6],
  ['G', 1e9],
  ['T', 1e12],
  ['P', 1e15],
  ['E', 1e18],
]);

const K8S_BINARY: ReadonlyMap<string, number> = new Map([
  ['Ki', KiB],
  ['Mi', MiB],
  ['Gi', GiB],
  ['Ti', 1024 * GiB],
  ['Pi', 1024 * 1024 * GiB],
  ['Ei', 1024 * 1024 * 1024 * GiB],
]);

export const SIZE_SYNTAX =
  'bytes, or a number with a Flink unit (b, k/kb, m/mb, g/gb, t/tb, case-insensitive; 1m = 1 MiB) ' +
  'or a Kubernetes quantity (Ki, Mi, Gi, Ti; M = 10^6, G = 10^9, T = 10^12; 1e9)';

const NUMBER_UNIT = /^(\d+(?:\.\d*)?|\.\d+)[ \t]*([A-Za-z]*)$/;
const EXPONENT = /^(\d+(?:\.\d*)?|\.\d+)[eE]([+]?\d+)$/;

/**
 * Parses a memory size into whole bytes (fractions floor). Throws ConfigError
 * naming `key` (and `origin`, where the value came from) on anything else.
 */
export function parseSize(text: string | number, key: string, origin?: string): number {
  const raw = String(text).trim();
  const fail = (why: string): never => {
    throw new ConfigError(
      `${key} ${JSON.stringify(String(text))}${origin ? ` (${origin})` : ''} ${why}; accepted: ${SIZE_SYNTAX}`,
      [key],
    );
  };
  if (raw === '') return fail('is empty');
  if (raw.startsWith('-')) return fail('is negative');

  let value: number | undefined;
  const m = NUMBER_UNIT.exec(raw);
  if (m) {
    const amount = Number(m[1]);
    const unit = m[2] ?? '';
    const multiplier =
      K8S_DECIMAL.get(unit) ?? FLINK_UNITS.get(unit.toLowerCase()) ?? K8S_BINARY.get(unit);
    if (multiplier === undefined) return fail(`has an unknown unit "${unit}"`);
    value = amount * multiplier;
  } else {
    const e = EXPONENT.exec(raw);
    if (!e) return fail('is not a memory size');
    value = Number(e[1]) * 10 ** Number(e[2]);
  }
  if (!Number.isFinite(value) || value > Number.MAX_SAFE_INTEGER) {
    return fail(`is too large (more than ${Number.MAX_SAFE_INTEGER} bytes)`);
  }
  return Math.floor(value);
}

const HUMAN_UNITS: readonly [string, number][] = [
  ['tb', 1024 * GiB],
  ['gb', GiB],
  ['mb', MiB],
  ['kb', KiB],
];

/**
 * Flink-style human units with three decimals, truncated (never rounded up,
 * so a limit is never shown larger than it is): 134217728 -> "128.000mb".
 * Below 1 KiB: "512b".
 */
export function formatBytes(bytes: number): string {
  if (bytes < 0) return `-${formatBytes(-bytes)}`; // e.g. an old generation that would be negative
  for (const [unit, size] of HUMAN_UNITS) {
    if (bytes >= size) {
      const thousandths = Math.floor((bytes / size) * 1000 + 1e-9);
      return `${(thousandths / 1000).toFixed(3)}${unit}`;
    }
  }
  return `${bytes}b`;
}

/** "134217728 bytes, 128.000mb": both exact and readable, as the spec's errors require. */
export function bytesAndHuman(bytes: number): string {
  return `${bytes} bytes, ${formatBytes(bytes)}`;
}
