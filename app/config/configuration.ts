// CONTRACT (implementation owned by the config work): the effective configuration.
import type { KeySpec } from './keys.js';

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
