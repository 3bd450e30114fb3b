// The network buffer pool: the plan's network memory (N) allocated ONCE at boot
// as one off-heap slab and cut into fixed-size segments (Flink's
// NetworkBufferPool idea). RPC request bodies are read into segments and
// outgoing batches are built in them, so TaskManager traffic never allocates
// beyond the plan: when segments run out, bulk traffic waits (bounded) or is
// rejected with a retry hint, while a reserved share keeps heartbeats and
// checkpoint acks flowing.

/** Priority traffic (heartbeats, checkpoint acks) may use the reserved share; bulk may not. */
export type TrafficClass = 'priority' | 'bulk';

export interface PoolTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realTimers: PoolTimers = {
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    // A waiting RPC must not keep a shutting-down process alive.
    t.unref();
    return t;
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface NetworkBufferPoolOptions {
  /** Bytes of the whole pool (the plan's networkBytes). */
  readonly totalBytes: number;
  /** Bytes of one segment (the plan's networkSegmentBytes). */
  readonly segmentBytes: number;
  /** Segments only priority traffic may take. Default: 10% of the pool, at least 4 (at most half). */
  readonly reservedSegments?: number;
  /** Most bulk acquisitions allowed to wait at once; beyond that, immediate rejection. Default 64. */
  readonly maxWaiters?: number;
  /** Longest a bulk acquisition waits before it is rejected. Default 2000 ms. */
  readonly maxWaitMs?: number;
  /** Longest a priority acquisition waits (only when even the reserve is exhausted). Default 10000 ms. */
  readonly maxPriorityWaitMs?: number;
  readonly timers?: PoolTimers;
}

export type ExhaustionReason = 'queue-full' | 'timeout' | 'too-large' | 'closed';

/** The pool cannot serve a request now; `retryAfterMs` is the hint for a 503 Retry-After. */
export class PoolExhaustedError extends Error {
  readonly statusCode = 503;
  readonly code = 'NETWORK_BUFFERS_EXHAUSTED';
  constructor(
    message: string,
    readonly reason: ExhaustionReason,
    readonly retryAfterMs: number,
  ) {
    super(message);
    this.name = 'PoolExhaustedError';
  }
}

/**
 * Segments held together; released all at once, exactly once (a second
 * release is a no-op, so error paths can release defensively).
 */
export interface SegmentLease {
  readonly segments: readonly Buffer[];
  readonly trafficClass: TrafficClass;
  readonly released: boolean;
  release(): void;
}

export interface BufferPoolStats {
  readonly totalSegments: number;
  readonly availableSegments: number;
  readonly segmentsInUse: number;
  readonly reservedSegments: number;
  /** How many of the reserved share are currently taken (by priority traffic). */
  readonly reservedInUse: number;
  readonly segmentBytes: number;
  readonly totalBytes: number;
  readonly bytesInUse: number;
  /** Acquisitions that had to wait. */
  readonly waits: number;
  /** Acquisitions refused (queue full, timeout, too large). */
  readonly rejections: number;
  readonly waiting: number;
  readonly acquisitions: number;
}

interface Waiter {
  readonly count: number;
  readonly trafficClass: TrafficClass;
  readonly resolve: (lease: SegmentLease) => void;
  readonly reject: (err: Error) => void;
  timer: unknown;
  settled: boolean;
}

export class NetworkBufferPool {
  readonly segmentBytes: number;
  readonly totalSegments: number;
  readonly reservedSegments: number;
  readonly maxWaiters: number;
  readonly maxWaitMs: number;
  readonly maxPriorityWaitMs: number;

  private readonly slab: Buffer;
  private readonly segments: Buffer[];
  /** Stack of free segment indexes (LIFO keeps recently touched pages hot). */
  private readonly free: number[];
  private readonly index = new WeakMap<Buffer, number>();
  private readonly inUse: Uint8Array;
  private readonly bulkQueue: Waiter[] = [];
  private readonly priorityQueue: Waiter[] = [];
  private readonly timers: PoolTimers;
  private closed = false;
  private waits = 0;
  private rejections = 0;
  private acquisitions = 0;

  constructor(options: NetworkBufferPoolOptions) {
    const { totalBytes, segmentBytes } = options;
    if (!Number.isSafeInteger(segmentBytes) || segmentBytes < 1024) {
      throw new RangeError(`network segment size must be an integer >= 1024 bytes, got ${segmentBytes}`);
    }
    if (!Number.isSafeInteger(totalBytes) || totalBytes < segmentBytes) {
      throw new RangeError(`network memory (${totalBytes} bytes) must hold at least one segment of ${segmentBytes} bytes`);
    }
    this.segmentBytes = segmentBytes;
    this.totalSegments = Math.floor(totalBytes / segmentBytes);
    const defaultReserve = Math.max(4, Math.ceil(this.totalSegments * 0.1));
    const reserve = options.reservedSegments ?? defaultReserve;
    this.reservedSegments = Math.max(0, Math.min(reserve, Math.floor(this.totalSegments / 2)));
    this.maxWaiters = options.maxWaiters ?? 64;
    this.maxWaitMs = options.maxWaitMs ?? 2000;
    this.maxPriorityWaitMs = options.maxPriorityWaitMs ?? 10_000;
    this.timers = options.timers ?? realTimers;

    // One allocation outside the V8 heap for the process lifetime: allocUnsafeSlow
    // never comes from Node's shared 8 KiB pool, so the slab is exactly N bytes.
    this.slab = Buffer.allocUnsafeSlow(this.totalSegments * segmentBytes);
    this.segments = new Array<Buffer>(this.totalSegments);
    this.free = new Array<number>(this.totalSegments);
    this.inUse = new Uint8Array(this.totalSegments);
    for (let i = 0; i < this.totalSegments; i++) {
      const seg = this.slab.subarray(i * segmentBytes, (i + 1) * segmentBytes);
      this.segments[i] = seg;
      this.index.set(seg, i);
      this.free[i] = this.totalSegments - 1 - i;
    }
  }

  /** Segments needed for `bytes` bytes (at least one). */
  segmentsFor(bytes: number): number {
    return Math.max(1, Math.ceil(bytes / this.segmentBytes));
  }

  get availableSegments(): number {
    return this.free.length;
  }

  /** Take `count` segments now, or undefined when the class's share cannot serve them. */
  tryAcquire(count: number, trafficClass: TrafficClass = 'bulk'): SegmentLease | undefined {
    this.checkCount(count, trafficClass);
    if (this.closed) return undefined;
    // Queued requests go first, so a stream of small requests cannot starve a waiting one.
    const queue = trafficClass === 'priority' ? this.priorityQueue : this.bulkQueue;
    if (queue.length > 0 || (trafficClass === 'bulk' && this.priorityQueue.length > 0)) return undefined;
    if (!this.fits(count, trafficClass)) return undefined;
    return this.take(count, trafficClass);
  }

  /**
   * Take `count` segments, waiting (bounded) when none are free. Rejects with
   * PoolExhaustedError at once when the wait queue is full or the request can
   * never be served, and after the class's maximum wait otherwise.
   */
  acquire(count: number, trafficClass: TrafficClass = 'bulk', maxWaitMs?: number): Promise<SegmentLease> {
    const tooLarge = this.checkCount(count, trafficClass, false);
    if (tooLarge) return Promise.reject(this.reject(tooLarge, 'too-large'));
    if (this.closed) return Promise.reject(this.reject('the network buffer pool is closed', 'closed'));
    const now = this.tryAcquire(count, trafficClass);
    if (now) return Promise.resolve(now);

    const queue = trafficClass === 'priority' ? this.priorityQueue : this.bulkQueue;
    const waitMs = maxWaitMs ?? (trafficClass === 'priority' ? this.maxPriorityWaitMs : this.maxWaitMs);
    if (waitMs <= 0 || queue.length >= this.maxWaiters) {
      return Promise.reject(
        this.reject(
          `network buffer pool exhausted: ${count} segment(s) of ${this.segmentBytes} bytes requested, ` +
            `${this.free.length} of ${this.totalSegments} free (${this.reservedSegments} reserved for heartbeats/acks), ` +
            `${queue.length} ${trafficClass} request(s) already waiting; retry later or raise jobmanager.network.memory.size`,
          'queue-full',
        ),
      );
    }
    this.waits++;
    return new Promise<SegmentLease>((resolve, reject) => {
      const waiter: Waiter = { count, trafficClass, resolve, reject, timer: undefined, settled: false };
      waiter.timer = this.timers.setTimeout(() => {
        if (waiter.settled) return;
        waiter.settled = true;
        const i = queue.indexOf(waiter);
        if (i >= 0) queue.splice(i, 1);
        reject(
          this.reject(
            `network buffer pool exhausted: waited ${waitMs} ms for ${count} segment(s) of ${this.segmentBytes} bytes; ` +
              `${this.free.length} of ${this.totalSegments} free; retry later or raise jobmanager.network.memory.size`,
            'timeout',
          ),
        );
        // A timed-out head may have blocked smaller requests behind it.
        this.drain();
      }, waitMs);
      queue.push(waiter);
    });
  }

  /** Stop serving: pending waiters are rejected. Segments already leased stay valid until released. */
  close(): void {
    this.closed = true;
    for (const queue of [this.priorityQueue, this.bulkQueue]) {
      for (const w of queue.splice(0)) {
        w.settled = true;
        this.timers.clearTimeout(w.timer);
        w.reject(this.reject('the network buffer pool is closed', 'closed'));
      }
    }
  }

  stats(): BufferPoolStats {
    const inUse = this.totalSegments - this.free.length;
    const bulkShare = this.totalSegments - this.reservedSegments;
    return {
      totalSegments: this.totalSegments,
      availableSegments: this.free.length,
      segmentsInUse: inUse,
      reservedSegments: this.reservedSegments,
      reservedInUse: Math.max(0, inUse - bulkShare),
      segmentBytes: this.segmentBytes,
      totalBytes: this.totalSegments * this.segmentBytes,
      bytesInUse: inUse * this.segmentBytes,
      waits: this.waits,
      rejections: this.rejections,
      waiting: this.bulkQueue.length + this.priorityQueue.length,
      acquisitions: this.acquisitions,
    };
  }

  /** Seconds to put in Retry-After after a rejection: the bulk wait bound, rounded up, at least 1. */
  retryAfterSeconds(): number {
    return Math.max(1, Math.ceil(this.maxWaitMs / 1000));
  }

  private fits(count: number, trafficClass: TrafficClass): boolean {
    const usable = trafficClass === 'priority' ? this.free.length : this.free.length - this.reservedSegments;
    return usable >= count;
  }

  /** Returns a message when `count` can never be served for this class (or throws when `throwIt`). */
  private checkCount(count: number, trafficClass: TrafficClass, throwIt = true): string | undefined {
    if (!Number.isSafeInteger(count) || count < 1) {
      throw new RangeError(`segment count must be a positive integer, got ${count}`);
    }
    const max = trafficClass === 'priority' ? this.totalSegments : this.totalSegments - this.reservedSegments;
    if (count <= max) return undefined;
    const msg =
      `request needs ${count} network segment(s) of ${this.segmentBytes} bytes but ${trafficClass} traffic can use at most ${max} ` +
      `(pool of ${this.totalSegments}); raise jobmanager.network.memory.size or send smaller batches`;
    if (throwIt) throw this.reject(msg, 'too-large');
    return msg;
  }

  private reject(message: string, reason: ExhaustionReason): PoolExhaustedError {
    this.rejections++;
    return new PoolExhaustedError(message, reason, this.maxWaitMs);
  }

  private take(count: number, trafficClass: TrafficClass): SegmentLease {
    const taken: Buffer[] = new Array<Buffer>(count);
    const ids: number[] = new Array<number>(count);
    for (let i = 0; i < count; i++) {
      const id = this.free.pop() as number;
      this.inUse[id] = 1;
      ids[i] = id;
      taken[i] = this.segments[id] as Buffer;
    }
    this.acquisitions++;
    let released = false;
    return {
      segments: taken,
      trafficClass,
      get released() {
        return released;
      },
      release: () => {
        if (released) return;
        released = true;
        for (const id of ids) {
          this.inUse[id] = 0;
          this.free.push(id);
        }
        this.drain();
      },
    };
  }

  /** Serve waiters in order: priority first, then bulk FIFO (head-of-line, so large requests are not starved). */
  private drain(): void {
    for (const queue of [this.priorityQueue, this.bulkQueue]) {
      while (queue.length > 0) {
        const head = queue[0] as Waiter;
        if (!this.fits(head.count, head.trafficClass)) break;
        queue.shift();
        head.settled = true;
        this.timers.clearTimeout(head.timer);
        head.resolve(this.take(head.count, head.trafficClass));
      }
      // Bulk waits while priority requests are still queued.
      if (queue === this.priorityQueue && queue.length > 0) return;
    }
  }

  /** True when `buf` is a segment of this pool currently leased out (for tests and assertions). */
  isLeased(buf: Buffer): boolean {
    const id = this.index.get(buf);
    return id !== undefined && this.inUse[id] === 1;
  }
}
