// The registry of every configuration key the JobManager understands.
// Canonical names follow the product's memory model; Apache Flink's names are
// accepted as aliases so a Flink user's config works unchanged.
// Other modules read values through app/config (never process.env directly).

export type KeyKind =
  | 'size' // bytes: Flink syntax (1g, 512 mb, 64k, plain bytes) or Kubernetes quantities (1Gi, 1G)
  | 'fraction' // a number in [0, 1)
  | 'integer'
  | 'port'
  | 'duration' // Flink syntax (10 s, 10s, 500ms, 1 min) or plain milliseconds
  | 'string'
  | 'boolean';

export interface KeySpec {
  readonly key: string;
  readonly aliases: readonly string[];
  readonly kind: KeyKind;
  /** Textual default as an operator would write it; undefined = derived or unset. */
  readonly defaultValue: string | undefined;
  readonly description: string;
  /** Hidden from GET /jobmanager/config and logs (tokens). */
  readonly secret?: boolean;
  /** Inclusive bounds of an integer (or a duration, in ms) the consumers need; checked when the value is read. */
  readonly min?: number;
  readonly max?: number;
}

const k = (
  key: string,
  kind: KeyKind,
  defaultValue: string | undefined,
  description: string,
  aliases: readonly string[] = [],
  secret = false,
): KeySpec => ({ key, aliases, kind, defaultValue, description, secret });
const bounded = (spec: KeySpec, min: number, max?: number): KeySpec => ({ ...spec, min, ...(max === undefined ? {} : { max }) });

export const MEMORY_KEYS = {
  process: 'jobmanager.process.memory.size',
  heap: 'jobmanager.heap.memory.size',
  offHeap: 'jobmanager.offheap.memory.size',
  network: 'jobmanager.network.memory.size',
  networkSegmentSize: 'jobmanager.network.memory.segment-size',
  overheadFraction: 'jobmanager.overhead.memory.fraction',
  overheadMin: 'jobmanager.overhead.memory.min',
  overheadMax: 'jobmanager.overhead.memory.max',
  semiSpace: 'jobmanager.heap.semi-space.size',
  cacheFraction: 'jobmanager.cache.memory.fraction',
} as const;

export const KEYS: readonly KeySpec[] = [
  // --- memory (memory-model.md) ---
  k(MEMORY_KEYS.process, 'size', undefined, 'Total process memory; default: the cgroup memory limit, else 1g', ['jobmanager.memory.process.size']),
  k(MEMORY_KEYS.heap, 'size', undefined, 'V8 heap (young + old generation); default: derived', ['jobmanager.memory.heap.size']),
  k(MEMORY_KEYS.offHeap, 'size', undefined, 'Off-heap (Buffers/ArrayBuffers); default: 10% of JobManager memory clamped to [32m, 512m]', ['jobmanager.memory.off-heap.size']),
  k(MEMORY_KEYS.network, 'size', undefined, 'Network buffer pool for TaskManager RPC; default: half of off-heap'),
  k(MEMORY_KEYS.networkSegmentSize, 'size', '32k', 'Size of one network buffer segment'),
  k(MEMORY_KEYS.overheadFraction, 'fraction', '0.1', 'Runtime overhead as a fraction of process memory', ['jobmanager.memory.jvm-overhead.fraction']),
  k(MEMORY_KEYS.overheadMin, 'size', '80m', 'Lower bound of runtime overhead', ['jobmanager.memory.jvm-overhead.min']),
  k(MEMORY_KEYS.overheadMax, 'size', '1g', 'Upper bound of runtime overhead', ['jobmanager.memory.jvm-overhead.max']),
  k(MEMORY_KEYS.semiSpace, 'size', undefined, 'V8 semi-space; default: largest power of two <= heap/64, clamped to [1m, 64m]'),
  k(MEMORY_KEYS.cacheFraction, 'fraction', '0.2', 'Share of the old generation for all coordination caches together'),
  k('jobmanager.container.memory.limit', 'size', undefined, 'Container memory limit as injected by the chart (Downward API); cross-checked against cgroup'),

  // --- endpoints ---
  k('rest.port', 'port', '8081', 'REST API port'),
  k('rest.bind-address', 'string', '127.0.0.1', 'REST API bind address'),
  k('rest.server.max-content-length', 'size', '100m', 'Largest REST request body accepted'),
  k('jobmanager.rpc.port', 'port', '6123', 'TaskManager-facing RPC port'),
  k('jobmanager.rpc.bind-address', 'string', '127.0.0.1', 'RPC bind address'),
  k('jobmanager.rpc.auth.token', 'string', undefined, 'Bearer token TaskManagers must present', [], true),
  k('jobmanager.rpc.auth.token-file', 'string', undefined, 'File holding the RPC bearer token (generated there when absent)'),
  k('jobmanager.rpc.max-body-size', 'size', '16m', 'Largest RPC request body accepted'),
  k('jobmanager.shutdown.timeout', 'duration', '10 s', 'Graceful shutdown delay before forced exit'),

  // --- storage and cluster ---
  k('jobmanager.storage.dir', 'string', './data', 'Directory for JobGraphs, checkpoint metadata and counters'),
  bounded(k('heartbeat.interval', 'duration', '10 s', 'TaskManager heartbeat interval'), 1),
  bounded(k('heartbeat.timeout', 'duration', '50 s', 'TaskManager declared lost after this long without heartbeat'), 1),
  bounded(k('slot.request.timeout', 'duration', '300 s', 'How long a job waits for slots before failing'), 1),
  k('restart-strategy.type', 'string', 'fixed-delay', 'Default restart strategy: none | fixed-delay | exponential-delay'),
  k('restart-strategy.fixed-delay.attempts', 'integer', '10', 'Default restart attempts'),
  k('restart-strategy.fixed-delay.delay', 'duration', '1 s', 'Default delay between restarts'),
  k('jobstore.max-capacity', 'integer', '1000', 'Most archived (terminal) jobs remembered'),
  bounded(k('jobmanager.execution.attempts-history-size', 'integer', '16', 'Prior execution attempts remembered per subtask (0..255)'), 0, 255),
  bounded(k('web.exception-history-size', 'integer', '16', 'Failures remembered in a job\'s exception history'), 1),

  // --- checkpoints ---
  k('execution.checkpointing.interval', 'duration', undefined, 'Default checkpoint interval (unset = off unless the JobGraph sets one)'),
  k('execution.checkpointing.timeout', 'duration', '10 min', 'Default checkpoint timeout'),
  k('execution.checkpointing.min-pause', 'duration', '0 ms', 'Default minimum pause between checkpoints'),
  k('execution.checkpointing.max-concurrent-checkpoints', 'integer', '1', 'Default concurrent checkpoints'),
  k('execution.checkpointing.tolerable-failed-checkpoints', 'integer', '0', 'Consecutive failed checkpoints tolerated before failover'),
  k('state.checkpoints.num-retained', 'integer', '1', 'Default completed checkpoints retained'),
  k('web.checkpoints.history', 'integer', '10', 'Checkpoint history entries shown per job'),
];

const byName = new Map<string, KeySpec>();
for (const spec of KEYS) {
  byName.set(spec.key, spec);
  for (const alias of spec.aliases) byName.set(alias, spec);
}

/** The spec for a canonical key or an alias. */
export function keySpec(name: string): KeySpec | undefined {
  return byName.get(name);
}

/** Every accepted name (canonical and aliases). */
export function knownKeyNames(): string[] {
  return [...byName.keys()];
}

/** Environment variable for a key or alias: upper-cased, `.` and `-` turned into `_`. */
export function envVarName(name: string): string {
  return name.toUpperCase().replace(/[.-]/g, '_');
}

/** Path of appsettings.json (like `--config PATH`); not a key itself. */
export const CONFIG_FILE_ENV = 'JOBMANAGER_CONFIG_FILE';

/** The build's revision, reported by REST as `flink-commit` (app/http/rest/version.ts); build metadata, not configuration. */
export const REVISION_ENV = 'JOBMANAGER_REVISION';
