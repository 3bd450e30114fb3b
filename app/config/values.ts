// Typed parsing of one configuration value by its key's kind. Every failure is
// a ConfigError naming the key, the value (and where it came from) and what is
// accepted.
import { parseDurationMs } from '../memory/duration.js';
import { parseSize } from '../memory/units.js';
import { ConfigError } from './errors.js';
import type { KeyKind } from './keys.js';

export interface KindValue {
  size: number;
  fraction: number;
  integer: number;
  port: number;
  duration: number;
  string: string;
  boolean: boolean;
}

function fail(key: string, text: string, origin: string | undefined, accepted: string): never {
  throw new ConfigError(
    `${key} ${JSON.stringify(text)}${origin ? ` (${origin})` : ''} is invalid; accepted: ${accepted}`,
    [key],
  );
}

const DECIMAL = /^(\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

export function parseFraction(text: string, key: string, origin?: string): number {
  const raw = text.trim();
  const value = Number(raw);
  if (!DECIMAL.test(raw) || !(value >= 0 && value < 1)) {
    fail(key, text, origin, 'a fraction in [0, 1), e.g. 0.1');
  }
  return value;
}

export function parseInteger(text: string, key: string, origin?: string): number {
  const raw = text.trim();
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value)) {
    fail(key, text, origin, `a whole number from 0 to ${Number.MAX_SAFE_INTEGER}`);
  }
  return value;
}

/** 0 means "any free port" (tests bind to ephemeral ports). */
export function parsePort(text: string, key: string, origin?: string): number {
  const raw = text.trim();
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value > 65535) fail(key, text, origin, 'a port 1..65535 (0 = any free port)');
  return value;
}

export function parseBoolean(text: string, key: string, origin?: string): boolean {
  const raw = text.trim().toLowerCase();
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  return fail(key, text, origin, 'true or false');
}

export function parseString(text: string, key: string, origin?: string): string {
  if (text.trim() === '') fail(key, text, origin, 'a non-empty string');
  return text;
}

export function parseKind<K extends KeyKind>(kind: K, text: string, key: string, origin?: string): KindValue[K] {
  const parsers: { [P in KeyKind]: (t: string, k: string, o?: string) => KindValue[P] } = {
    size: parseSize,
    fraction: parseFraction,
    integer: parseInteger,
    port: parsePort,
    duration: parseDurationMs,
    string: parseString,
    boolean: parseBoolean,
  };
  return parsers[kind](text, key, origin);
}
