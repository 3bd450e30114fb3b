// Durations in Flink's TimeUtils syntax ("10 s", "10s", "500ms", "1 min",
// "2 h", "1d"); a plain number means milliseconds. Pure, no I/O.
import { ConfigError } from '../config/errors.js';

const UNITS: readonly [readonly string[], number][] = [
  [['ns', 'nano', 'nanos', 'nanosecond', 'nanoseconds'], 1e-6],
  [['us', 'µs', 'micro', 'micros', 'microsecond', 'microseconds'], 1e-3],
  [['', 'ms', 'milli', 'millis', 'millisecond', 'milliseconds'], 1],
  [['s', 'sec', 'secs', 'second', 'seconds'], 1000],
  [['m', 'min', 'mins', 'minute', 'minutes'], 60_000],
  [['h', 'hour', 'hours'], 3_600_000],
  [['d', 'day', 'days'], 86_400_000],
];

const MS_PER_UNIT: ReadonlyMap<string, number> = new Map(
  UNITS.flatMap(([names, ms]) => names.map((n) => [n, ms] as const)),
);

export const DURATION_SYNTAX =
  'a number of milliseconds, or a number with a unit (ms, s, min, h, d; e.g. "10 s", "500ms", "1 min")';

const NUMBER_UNIT = /^(\d+(?:\.\d*)?|\.\d+)[ \t]*([a-zµ]*)$/;

/** Parses a duration into whole milliseconds (fractions floor). Throws ConfigError naming `key`. */
export function parseDurationMs(text: string | number, key: string, origin?: string): number {
  const raw = String(text).trim().toLowerCase();
  const fail = (why: string): never => {
    throw new ConfigError(
      `${key} ${JSON.stringify(String(text))}${origin ? ` (${origin})` : ''} ${why}; accepted: ${DURATION_SYNTAX}`,
      [key],
    );
  };
  if (raw === '') return fail('is empty');
  if (raw.startsWith('-')) return fail('is negative');
  const m = NUMBER_UNIT.exec(raw);
  if (!m) return fail('is not a duration');
  const perUnit = MS_PER_UNIT.get(m[2] ?? '');
  if (perUnit === undefined) return fail(`has an unknown time unit "${m[2]}"`);
  const ms = Number(m[1]) * perUnit;
  if (!Number.isFinite(ms) || ms > Number.MAX_SAFE_INTEGER) return fail('is too large');
  return Math.floor(ms);
}

/** "10 s"-style text for a duration, for logs and defaults shown to operators. */
export function formatDurationMs(ms: number): string {
  if (ms !== 0 && ms % 86_400_000 === 0) return `${ms / 86_400_000} d`;
  if (ms !== 0 && ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms !== 0 && ms % 60_000 === 0) return `${ms / 60_000} min`;
  if (ms !== 0 && ms % 1000 === 0) return `${ms / 1000} s`;
  return `${ms} ms`;
}
