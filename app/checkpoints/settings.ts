// Effective checkpoint settings of a job: the JobGraph's `checkpointing`
// block over the cluster defaults (Flink's `execution.checkpointing.*`,
// `state.checkpoints.num-retained`, `web.checkpoints.history`).
import { keySpec } from '../config/keys.js';
import { parseKind } from '../config/values.js';

/** The JobGraph's `checkpointing` block (milliseconds). Every field optional. */
export interface JobCheckpointingConfig {
  readonly interval?: number;
  readonly timeout?: number;
  readonly minPause?: number;
  readonly maxConcurrent?: number;
  readonly retained?: number;
  readonly tolerableFailures?: number;
}

export interface CheckpointSettings {
  /** 0 = no periodic checkpoints (manual ones still work). */
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly minPauseMs: number;
  readonly maxConcurrent: number;
  readonly retained: number;
  /** Consecutive failed checkpoints tolerated before the job fails over. */
  readonly tolerableFailures: number;
  /** Entries of `history` in /jobs/:jobid/checkpoints. */
  readonly historySize: number;
}

/** Cluster defaults, read from the keys CHECKPOINT_CONFIG_KEYS names field by field. */
export type CheckpointDefaults = Omit<CheckpointSettings, 'intervalMs'> & {
  /** undefined = off unless the JobGraph sets one. */
  readonly intervalMs: number | undefined;
};

/** The configuration key of each default, so the composition root reads them without repeating strings. */
export const CHECKPOINT_CONFIG_KEYS = {
  intervalMs: 'execution.checkpointing.interval',
  timeoutMs: 'execution.checkpointing.timeout',
  minPauseMs: 'execution.checkpointing.min-pause',
  maxConcurrent: 'execution.checkpointing.max-concurrent-checkpoints',
  tolerableFailures: 'execution.checkpointing.tolerable-failed-checkpoints',
  retained: 'state.checkpoints.num-retained',
  historySize: 'web.checkpoints.history',
} as const satisfies Record<keyof CheckpointDefaults, string>;

const clampInt = (v: number, min: number): number => Math.max(min, Math.floor(v));

/** JobGraph values win over cluster defaults; values are clamped into their valid range. */
export function resolveCheckpointSettings(job: JobCheckpointingConfig | undefined, defaults: CheckpointDefaults): CheckpointSettings {
  const interval = job?.interval ?? defaults.intervalMs ?? 0;
  return {
    intervalMs: interval > 0 ? Math.floor(interval) : 0,
    timeoutMs: clampInt(job?.timeout ?? defaults.timeoutMs, 1),
    minPauseMs: clampInt(job?.minPause ?? defaults.minPauseMs, 0),
    maxConcurrent: clampInt(job?.maxConcurrent ?? defaults.maxConcurrent, 1),
    retained: clampInt(job?.retained ?? defaults.retained, 1),
    tolerableFailures: clampInt(job?.tolerableFailures ?? defaults.tolerableFailures, 0),
    historySize: clampInt(defaults.historySize, 1),
  };
}

/** The configuration accessors this module needs (app/config's Configuration has them). */
export interface CheckpointConfigSource {
  integer(key: string): number;
  durationMs(key: string): number;
  optionalDurationMs(key: string): number | undefined;
}

/** Cluster defaults from the effective configuration. */
export function checkpointDefaultsFromConfig(config: CheckpointConfigSource): CheckpointDefaults {
  const k = CHECKPOINT_CONFIG_KEYS;
  return {
    intervalMs: config.optionalDurationMs(k.intervalMs),
    timeoutMs: config.durationMs(k.timeoutMs),
    minPauseMs: config.durationMs(k.minPauseMs),
    maxConcurrent: config.integer(k.maxConcurrent),
    retained: config.integer(k.retained),
    tolerableFailures: config.integer(k.tolerableFailures),
    historySize: config.integer(k.historySize),
  };
}

/** A key's registry default, parsed as the configuration would parse it. */
function registryDefault(key: string, kind: 'integer' | 'duration'): number | undefined {
  const spec = keySpec(key);
  if (spec === undefined) throw new Error(`${key}: not in the configuration registry (app/config/keys.ts)`);
  return spec.defaultValue === undefined ? undefined : parseKind(kind, spec.defaultValue, key, 'default');
}

function requiredRegistryDefault(key: string, kind: 'integer' | 'duration'): number {
  const v = registryDefault(key, kind);
  if (v === undefined) throw new Error(`${key}: has no default in the configuration registry (app/config/keys.ts)`);
  return v;
}

/** The registry defaults of app/config/keys.ts (derived from it, so they cannot drift), for tests and tools. */
export const BUILTIN_CHECKPOINT_DEFAULTS: CheckpointDefaults = checkpointDefaultsFromConfig({
  integer: (key) => requiredRegistryDefault(key, 'integer'),
  durationMs: (key) => requiredRegistryDefault(key, 'duration'),
  optionalDurationMs: (key) => registryDefault(key, 'duration'),
});
