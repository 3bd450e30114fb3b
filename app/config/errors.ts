/**
 * A configuration or memory-plan problem the operator must fix. The process
 * prints `message` as one line on stderr (no stack trace) and exits with
 * EX_CONFIG (78), like sysexits.h.
 */
export class ConfigError extends Error {
  readonly exitCode = 78;
  /** Canonical names of the keys involved, so callers and tests can check them. */
  readonly keys: readonly string[];
  constructor(message: string, keys: readonly string[] = []) {
    super(message);
    this.name = 'ConfigError';
    this.keys = keys;
  }
}
