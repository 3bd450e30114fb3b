// Coordination caches bounded in BYTES, not entries: archived jobs (Flink's
// jobstore role) and checkpoint statistics history share the plan's cache
// budget. Entries are weighed with an estimate of their V8 heap size, the
// least recently used go first, and an evicted key is remembered in a small
// bounded tombstone set so a lookup can say "evicted" (with a compact summary)
// instead of "unknown".
import { LRUCache } from 'lru-cache';
import { formatBytes } from './units.js';
import type { ArchiveStore } from '../jobs/types.js';

/**
 * Heap bytes per byte of JSON text, measured with forced GC on archived-job
 * shaped objects (docs/sizing.md, scripts/stress/calibrate.ts): 1.03-1.22 for
 * objects parsed from JSON, 1.07-1.36 for JSON strings; 1.25 keeps the
 * estimate on the safe side for objects.
 */
export const HEAP_BYTES_PER_JSON_BYTE = 1.25;
/** Per-entry overhead of the LRU bookkeeping (key slot, index arrays, size slot), measured ~100 bytes. */
export const ENTRY_OVERHEAD_BYTES = 128;

/** The V8 heap an entry is estimated to occupy. Strings are weighed exactly (1 or 2 bytes per character). */
export function estimateEntryBytes(value: unknown): number {
  if (typeof value === 'string') {
    // V8 keeps pure Latin-1 strings one byte per character, anything else two.
    // eslint-disable-next-line no-control-regex
    const perChar = /[^\u0000-\u00ff]/.test(value) ? 2 : 1;
    return ENTRY_OVERHEAD_BYTES + 16 + value.length * perChar;
  }
  const json = JSON.stringify(value);
  const jsonBytes = json === undefined ? 8 : Buffer.byteLength(json);
  return ENTRY_OVERHEAD_BYTES + Math.ceil(jsonBytes * HEAP_BYTES_PER_JSON_BYTE);
}

export interface CacheBudgets {
  readonly archivedJobsBytes: number;
  readonly checkpointStatsBytes: number;
}

/** Share of the cache budget for archived jobs; the rest holds checkpoint statistics history. */
export const ARCHIVED_JOBS_SHARE = 0.7;

/** Split the plan's cache budget between the coordination caches (whole KiB, never below 64 KiB each). */
export function splitCacheBudget(cacheBytes: number): CacheBudgets {
  const archived = Math.max(64 * 1024, Math.floor((cacheBytes * ARCHIVED_JOBS_SHARE) / 1024) * 1024);
  const checkpoint = Math.max(64 * 1024, Math.floor((cacheBytes - archived) / 1024) * 1024);
  return { archivedJobsBytes: archived, checkpointStatsBytes: checkpoint };
}

export type EvictionReason = 'budget' | 'too-large';

export interface Tombstone<S> {
  readonly evictedAtMs: number;
  readonly reason: EvictionReason;
  readonly summary: S | undefined;
}

export type CacheLookup<V, S> =
  | { readonly state: 'present'; readonly value: V }
  | { readonly state: 'evicted'; readonly tombstone: Tombstone<S>; readonly message: string }
  | { readonly state: 'unknown' };

export interface CacheStats {
  readonly name: string;
  readonly maxBytes: number;
  readonly bytes: number;
  readonly entries: number;
  readonly evictions: number;
  readonly rejectedTooLarge: number;
  readonly tombstones: number;
}

export interface ByteBoundedCacheOptions<V, S> {
  /** Metric label and message text, e.g. 'archived-jobs'. */
  readonly name: string;
  readonly maxBytes: number;
  /** Remembered evicted keys (oldest forgotten first). Default 1000. */
  readonly maxTombstones?: number;
  /** Heap estimate of an entry; default estimateEntryBytes. */
  readonly sizeOf?: (value: V, key: string) => number;
  /** Compact summary kept in the tombstone (keep it a few dozen bytes). */
  readonly summarize?: (value: V, key: string) => S;
  /** What a key names in messages, e.g. 'job'. */
  readonly noun?: string;
  /** Called for an entry evicted to stay within budget, or refused as too large. */
  readonly onEvict?: (value: V, key: string) => void;
  readonly now?: () => number;
}

export class ByteBoundedCache<V extends NonNullable<unknown>, S = undefined> {
  readonly name: string;
  readonly maxBytes: number;
  private readonly lru: LRUCache<string, V>;
  private readonly tombstones: LRUCache<string, Tombstone<S>>;
  private readonly summarize: ((value: V, key: string) => S) | undefined;
  private readonly onEvict: ((value: V, key: string) => void) | undefined;
  private readonly noun: string;
  private readonly now: () => number;
  private evictions = 0;
  private rejectedTooLarge = 0;
  /** The archive store's onEvicted subscribers (budget evictions only: the entry was present before). */
  private readonly evictedListeners = new Set<(value: V, key: string) => void>();

  constructor(options: ByteBoundedCacheOptions<V, S>) {
    if (!Number.isSafeInteger(options.maxBytes) || options.maxBytes < 1) {
      throw new RangeError(`cache ${options.name}: maxBytes must be a positive integer, got ${options.maxBytes}`);
    }
    this.name = options.name;
    this.maxBytes = options.maxBytes;
    this.summarize = options.summarize;
    this.onEvict = options.onEvict;
    this.noun = options.noun ?? 'entry';
    this.now = options.now ?? Date.now;
    const sizeOf = options.sizeOf ?? ((v: V) => estimateEntryBytes(v));
    this.tombstones = new LRUCache<string, Tombstone<S>>({ max: Math.max(1, options.maxTombstones ?? 1000) });
    this.lru = new LRUCache<string, V>({
      maxSize: options.maxBytes,
      sizeCalculation: (v, k) => Math.max(1, Math.ceil(sizeOf(v, k))),
      dispose: (value, key, reason) => {
        if (reason === 'evict') {
          this.evictions++;
          this.bury(key, value, 'budget');
          for (const l of this.evictedListeners) l(value, key);
        }
      },
    });
  }

  /**
   * Store an entry, evicting least recently used ones to stay within budget.
   * Returns false when the entry alone exceeds the budget (it is then
   * remembered as evicted, reason 'too-large').
   */
  set(key: string, value: V): boolean {
    this.tombstones.delete(key);
    const status: LRUCache.Status<string, V> = {};
    this.lru.set(key, value, { status });
    if (status.maxEntrySizeExceeded) {
      this.rejectedTooLarge++;
      this.bury(key, value, 'too-large');
      return false;
    }
    return true;
  }

  get(key: string): V | undefined {
    return this.lru.get(key);
  }

  has(key: string): boolean {
    return this.lru.has(key);
  }

  delete(key: string): boolean {
    this.tombstones.delete(key);
    return this.lru.delete(key);
  }

  /** present / evicted (with a message naming the eviction) / unknown. */
  lookup(key: string): CacheLookup<V, S> {
    const value = this.lru.get(key);
    if (value !== undefined) return { state: 'present', value };
    const tombstone = this.tombstones.get(key);
    if (tombstone) return { state: 'evicted', tombstone, message: this.evictionMessage(key, tombstone) };
    return { state: 'unknown' };
  }

  /** Values, most recently used first. */
  values(): V[] {
    return [...this.lru.values()];
  }

  entries(): [string, V][] {
    return [...this.lru.entries()];
  }

  /** Keys / values / entries from the least recently used on (the eviction order). */
  *oldestFirst(): Generator<[string, V]> {
    yield* this.lru.rentries() as Generator<[string, V]>;
  }

  /** A Map-like view for the Dispatcher's archive (iteration oldest first, like a Map's insertion order). */
  asArchiveStore(): ArchiveStore<V> {
    const self = this;
    const entries = () => self.oldestFirst();
    const store: ArchiveStore<V> = {
      get: (key) => self.get(key),
      has: (key) => self.has(key),
      set(key, value) {
        self.set(key, value);
        return store;
      },
      delete: (key) => self.lru.delete(key),
      get size() {
        return self.size;
      },
      *keys() {
        for (const [k] of entries()) yield k;
      },
      *values() {
        for (const [, v] of entries()) yield v;
      },
      entries,
      [Symbol.iterator]: entries,
      evictionMessage(key) {
        const l = self.lookup(key);
        return l.state === 'evicted' ? l.message : undefined;
      },
      onEvicted(listener) {
        self.evictedListeners.add((value, key) => listener(key, value));
      },
    };
    return store;
  }

  get size(): number {
    return this.lru.size;
  }

  get bytes(): number {
    return this.lru.calculatedSize;
  }

  stats(): CacheStats {
    return {
      name: this.name,
      maxBytes: this.maxBytes,
      bytes: this.lru.calculatedSize,
      entries: this.lru.size,
      evictions: this.evictions,
      rejectedTooLarge: this.rejectedTooLarge,
      tombstones: this.tombstones.size,
    };
  }

  clear(): void {
    this.lru.clear();
    this.tombstones.clear();
  }

  private bury(key: string, value: V, reason: EvictionReason): void {
    const summary = this.summarize ? this.summarize(value, key) : undefined;
    this.tombstones.set(key, { evictedAtMs: this.now(), reason, summary });
    this.onEvict?.(value, key);
  }

  private evictionMessage(key: string, t: Tombstone<S>): string {
    const when = new Date(t.evictedAtMs).toISOString();
    const budget = formatBytes(this.maxBytes);
    return t.reason === 'too-large'
      ? `${this.noun} ${key} was not kept in the ${this.name} cache (evicted at ${when}): it alone exceeds the cache's budget of ${budget}; raise jobmanager.cache.memory.fraction or the heap (jobmanager.process.memory.size)`
      : `${this.noun} ${key} was evicted from the ${this.name} cache at ${when} to keep it within its budget of ${budget}; raise jobmanager.cache.memory.fraction or the heap (jobmanager.process.memory.size) to keep more`;
  }
}

export interface CoordinationCaches<A extends NonNullable<unknown>, C extends NonNullable<unknown>, SA = undefined, SC = undefined> {
  readonly archivedJobs: ByteBoundedCache<A, SA>;
  readonly checkpointStats: ByteBoundedCache<C, SC>;
  /** Bytes held by all coordination caches together. */
  bytes(): number;
  stats(): CacheStats[];
}

/** Both coordination caches sized from the plan's cache budget. */
export function createCoordinationCaches<A extends NonNullable<unknown>, C extends NonNullable<unknown>, SA = undefined, SC = undefined>(
  cacheBytes: number,
  options: {
    readonly summarizeArchivedJob?: (value: A, key: string) => SA;
    readonly summarizeCheckpointStats?: (value: C, key: string) => SC;
    /** Heap weight of a checkpoint-stats entry (default: estimateEntryBytes). */
    readonly checkpointStatsSizeOf?: (value: C, key: string) => number;
    readonly onCheckpointStatsEvict?: (value: C, key: string) => void;
    readonly maxTombstones?: number;
    readonly now?: () => number;
  } = {},
): CoordinationCaches<A, C, SA, SC> {
  const budgets = splitCacheBudget(cacheBytes);
  const common = {
    ...(options.maxTombstones !== undefined ? { maxTombstones: options.maxTombstones } : {}),
    ...(options.now ? { now: options.now } : {}),
  };
  const archivedJobs = new ByteBoundedCache<A, SA>({
    name: 'archived-jobs',
    noun: 'job',
    maxBytes: budgets.archivedJobsBytes,
    ...(options.summarizeArchivedJob ? { summarize: options.summarizeArchivedJob } : {}),
    ...common,
  });
  const checkpointStats = new ByteBoundedCache<C, SC>({
    name: 'checkpoint-stats',
    noun: 'checkpoint statistics',
    maxBytes: budgets.checkpointStatsBytes,
    ...(options.summarizeCheckpointStats ? { summarize: options.summarizeCheckpointStats } : {}),
    ...(options.checkpointStatsSizeOf ? { sizeOf: options.checkpointStatsSizeOf } : {}),
    ...(options.onCheckpointStatsEvict ? { onEvict: options.onCheckpointStatsEvict } : {}),
    ...common,
  });
  return {
    archivedJobs,
    checkpointStats,
    bytes: () => archivedJobs.bytes + checkpointStats.bytes,
    stats: () => [archivedJobs.stats(), checkpointStats.stats()],
  };
}
