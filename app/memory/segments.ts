// Moving bytes through network buffer segments: reading a request body into
// segments (incoming RPC) and encoding a JSON batch into segments (outgoing
// deployments / checkpoint triggers). Both hold a SegmentLease that the caller
// releases when done; on any error the lease is released here.
import { Readable } from 'node:stream';
import type { NetworkBufferPool, SegmentLease, TrafficClass } from './buffer-pool.js';

/** A body that does not fit what was declared or allowed (413 / 400 at the HTTP edge). */
export class BodyLimitError extends Error {
  constructor(
    message: string,
    readonly statusCode: 400 | 413,
  ) {
    super(message);
    this.name = 'BodyLimitError';
  }
}

/** Bytes held in pool segments, in order; `byteLength` bytes are meaningful. */
export class SegmentedBytes {
  constructor(
    readonly lease: SegmentLease,
    readonly byteLength: number,
  ) {}

  /** The filled parts of the segments, in order (views, no copy). */
  chunks(): Buffer[] {
    const out: Buffer[] = [];
    let left = this.byteLength;
    for (const seg of this.lease.segments) {
      if (left <= 0) break;
      const n = Math.min(left, seg.length);
      out.push(seg.subarray(0, n));
      left -= n;
    }
    return out;
  }

  /** Decode as UTF-8 (multi-byte characters split across segments decode correctly). */
  text(): string {
    const decoder = new TextDecoder('utf-8', { fatal: true });
    let s = '';
    for (const c of this.chunks()) s += decoder.decode(c, { stream: true });
    return s + decoder.decode();
  }

  json(): unknown {
    return JSON.parse(this.text());
  }

  /** A readable stream over the segments (for undici request bodies). Release the lease when the request has finished. */
  toStream(): Readable {
    return Readable.from(this.chunks(), { objectMode: false });
  }

  release(): void {
    this.lease.release();
  }
}

export interface ReadOptions {
  /** Content-Length when the peer sent one: all segments are acquired up front (no partial holds). */
  readonly declaredBytes?: number | undefined;
  /** Largest body accepted (jobmanager.rpc.max-body-size). */
  readonly maxBytes: number;
  readonly trafficClass: TrafficClass;
  readonly maxWaitMs?: number;
}

/**
 * Read a body into pool segments. With a declared length, ceil(N / segment)
 * segments are acquired at once (waiting or rejecting per the pool's policy);
 * without one (chunked), one segment at a time. The lease is released if
 * anything fails, including the peer aborting.
 */
export async function readIntoSegments(
  source: AsyncIterable<Buffer | string>,
  pool: NetworkBufferPool,
  options: ReadOptions,
): Promise<SegmentedBytes> {
  const { declaredBytes, maxBytes, trafficClass, maxWaitMs } = options;
  if (declaredBytes !== undefined && declaredBytes > maxBytes) {
    throw new BodyLimitError(`request body of ${declaredBytes} bytes exceeds the limit of ${maxBytes} bytes (jobmanager.rpc.max-body-size)`, 413);
  }
  const leases: SegmentLease[] = [];
  const segs: Buffer[] = [];
  const releaseAll = () => {
    for (const l of leases) l.release();
  };
  try {
    if (declaredBytes !== undefined && declaredBytes > 0) {
      const lease = await pool.acquire(pool.segmentsFor(declaredBytes), trafficClass, maxWaitMs);
      leases.push(lease);
      segs.push(...lease.segments);
    }
    let length = 0;
    let segIndex = 0;
    let offset = 0;
    for await (const raw of source) {
      const chunk = typeof raw === 'string' ? Buffer.from(raw) : raw;
      if (length + chunk.length > maxBytes) {
        throw new BodyLimitError(`request body exceeds the limit of ${maxBytes} bytes (jobmanager.rpc.max-body-size)`, 413);
      }
      if (declaredBytes !== undefined && length + chunk.length > declaredBytes) {
        throw new BodyLimitError(`request body is longer than its declared Content-Length of ${declaredBytes} bytes`, 400);
      }
      let pos = 0;
      while (pos < chunk.length) {
        if (segIndex >= segs.length) {
          const more = await pool.acquire(1, trafficClass, maxWaitMs);
          leases.push(more);
          segs.push(...more.segments);
        }
        const seg = segs[segIndex] as Buffer;
        const n = chunk.copy(seg, offset, pos);
        pos += n;
        offset += n;
        if (offset === seg.length) {
          segIndex++;
          offset = 0;
        }
      }
      length += chunk.length;
    }
    if (declaredBytes !== undefined && length < declaredBytes) {
      throw new BodyLimitError(`request body ended after ${length} of its declared ${declaredBytes} bytes`, 400);
    }
    if (segs.length === 0) {
      // An empty body still gets a (single) segment so callers have one shape to release.
      const lease = await pool.acquire(1, trafficClass, maxWaitMs);
      leases.push(lease);
      segs.push(...lease.segments);
    }
    return new SegmentedBytes(mergeLeases(leases, segs), length);
  } catch (err) {
    releaseAll();
    throw err;
  }
}

/**
 * Encode `value` as JSON into pool segments for an outgoing batch. The JSON
 * text itself is transient; the bytes on the wire live in the pool.
 */
export async function encodeJsonIntoSegments(
  value: unknown,
  pool: NetworkBufferPool,
  trafficClass: TrafficClass,
  maxWaitMs?: number,
): Promise<SegmentedBytes> {
  const text = JSON.stringify(value);
  const bytes = Buffer.byteLength(text);
  // encodeInto writes whole characters only, so a segment may end up to 3 bytes short
  // when the text is not pure ASCII: budget for that slack.
  const perSegment = bytes === text.length ? pool.segmentBytes : pool.segmentBytes - 3;
  const lease = await pool.acquire(Math.max(1, Math.ceil(bytes / perSegment)), trafficClass, maxWaitMs);
  try {
    const encoder = new TextEncoder();
    let rest = text;
    const filled: Buffer[] = [];
    let written = 0;
    for (const seg of lease.segments) {
      if (rest.length === 0) break;
      const r = encoder.encodeInto(rest, seg);
      rest = rest.slice(r.read);
      written += r.written;
      filled.push(seg.subarray(0, r.written));
    }
    if (rest.length > 0) throw new Error('internal: JSON batch did not fit the segments acquired for it');
    return new SegmentedBytes(new ChunkLease(lease, filled), written);
  } catch (err) {
    lease.release();
    throw err;
  }
}

/** A lease whose `segments` are the filled views (so chunks() never includes slack). */
class ChunkLease implements SegmentLease {
  constructor(
    private readonly inner: SegmentLease,
    readonly segments: readonly Buffer[],
  ) {}
  get trafficClass() {
    return this.inner.trafficClass;
  }
  get released() {
    return this.inner.released;
  }
  release(): void {
    this.inner.release();
  }
}

function mergeLeases(leases: SegmentLease[], segs: Buffer[]): SegmentLease {
  if (leases.length === 1) return leases[0] as SegmentLease;
  let released = false;
  return {
    segments: segs,
    trafficClass: (leases[0] as SegmentLease).trafficClass,
    get released() {
      return released;
    },
    release() {
      if (released) return;
      released = true;
      for (const l of leases) l.release();
    },
  };
}
