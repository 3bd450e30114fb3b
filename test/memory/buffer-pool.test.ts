import t from 'tap';
import fc from 'fast-check';
import { Readable } from 'node:stream';
import { NetworkBufferPool, PoolExhaustedError, type PoolTimers } from '../../app/memory/buffer-pool.js';
import { BodyLimitError, encodeJsonIntoSegments, readIntoSegments } from '../../app/memory/segments.js';

const KiB = 1024;
/** What a promise rejected with ('resolved' if it did not), to match fields tap's ErrorMatch type cannot name. */
const rejection = (p: Promise<unknown>): Promise<unknown> => p.then(() => 'resolved', (err: unknown) => err);

/** Timers driven by the test: nothing fires until advance(). */
function manualTimers() {
  let now = 0;
  let next = 1;
  const pending = new Map<number, { at: number; fn: () => void }>();
  const timers: PoolTimers = {
    setTimeout(fn, ms) {
      const id = next++;
      pending.set(id, { at: now + ms, fn });
      return id;
    },
    clearTimeout(handle) {
      pending.delete(handle as number);
    },
  };
  return {
    timers,
    pending: () => pending.size,
    advance(ms: number) {
      now += ms;
      for (const [id, p] of [...pending].sort((a, b) => a[1].at - b[1].at)) {
        if (p.at <= now) {
          pending.delete(id);
          p.fn();
        }
      }
    },
  };
}

const flush = () => new Promise((r) => setImmediate(r));

t.test('slices one slab into N / segment segments, all off-heap and distinct', async (t) => {
  const pool = new NetworkBufferPool({ totalBytes: 1024 * KiB + 100, segmentBytes: 32 * KiB });
  t.equal(pool.totalSegments, 32);
  t.equal(pool.reservedSegments, 4, '10% rounded up, at least 4');
  const lease = pool.tryAcquire(28, 'bulk');
  t.ok(lease);
  t.equal(lease!.segments.length, 28);
  const bases = new Set(lease!.segments.map((s) => s.byteOffset));
  t.equal(bases.size, 28, 'segments do not overlap');
  t.ok(lease!.segments.every((s) => s.length === 32 * KiB && s.buffer === lease!.segments[0]!.buffer), 'one backing ArrayBuffer');
  t.equal(pool.stats().availableSegments, 4);
  lease!.release();
  lease!.release(); // idempotent
  t.equal(pool.stats().availableSegments, 32);
  t.equal(pool.stats().segmentsInUse, 0);
});

t.test('rejects construction that cannot hold a segment', async (t) => {
  t.throws(() => new NetworkBufferPool({ totalBytes: 1000, segmentBytes: 32 * KiB }), /at least one segment/);
  t.throws(() => new NetworkBufferPool({ totalBytes: 1 << 20, segmentBytes: 10 }), /segment size/);
});

t.test('exhaustion: bulk waits (bounded), then times out with a retry hint', async (t) => {
  const clock = manualTimers();
  const pool = new NetworkBufferPool({ totalBytes: 20 * 32 * KiB, segmentBytes: 32 * KiB, reservedSegments: 4, maxWaitMs: 500, maxWaiters: 2, timers: clock.timers });
  const bulk = pool.tryAcquire(16, 'bulk')!;
  t.ok(bulk, 'bulk can take everything but the reserve');
  t.equal(pool.tryAcquire(1, 'bulk'), undefined, 'bulk cannot dip into the reserve');

  const w1 = pool.acquire(2, 'bulk');
  const w2 = pool.acquire(1, 'bulk');
  await t.rejects(pool.acquire(1, 'bulk'), { name: 'PoolExhaustedError', reason: 'queue-full' }, 'a full wait queue rejects immediately');
  t.equal(pool.stats().waiting, 2);
  t.equal(pool.stats().waits, 2);

  clock.advance(499);
  await flush();
  t.equal(pool.stats().waiting, 2, 'still waiting before the bound');
  clock.advance(1);
  const err = await w1.catch((e: unknown) => e);
  t.type(err, PoolExhaustedError);
  t.equal((err as PoolExhaustedError).reason, 'timeout');
  t.equal((err as PoolExhaustedError).retryAfterMs, 500);
  t.match((err as Error).message, /jobmanager\.network\.memory\.size/);
  t.match(await rejection(w2), { reason: 'timeout' });
  t.equal(pool.stats().rejections, 3);
  t.equal(clock.pending(), 0, 'no timer left behind');
  bulk.release();
  t.equal(pool.stats().availableSegments, 20);
});

t.test('a waiting bulk request is served in order when segments come back', async (t) => {
  const clock = manualTimers();
  const pool = new NetworkBufferPool({ totalBytes: 10 * 32 * KiB, segmentBytes: 32 * KiB, reservedSegments: 2, timers: clock.timers });
  const a = pool.tryAcquire(8)!;
  const order: string[] = [];
  const big = pool.acquire(5).then((l) => (order.push('big'), l));
  const small = pool.acquire(1).then((l) => (order.push('small'), l));
  t.equal(pool.tryAcquire(1), undefined, 'newcomers do not jump the queue');
  a.release();
  const [lb, ls] = await Promise.all([big, small]);
  t.same(order, ['big', 'small']);
  t.equal(clock.pending(), 0, 'timers cleared on success');
  lb.release();
  ls.release();
  t.equal(pool.availableSegments, 10);
});

t.test('requests that can never be served are rejected at once', async (t) => {
  const pool = new NetworkBufferPool({ totalBytes: 10 * 32 * KiB, segmentBytes: 32 * KiB, reservedSegments: 2 });
  t.match(await rejection(pool.acquire(9, 'bulk')), { reason: 'too-large', message: /at most 8/ });
  const p = await pool.acquire(10, 'priority');
  t.equal(p.segments.length, 10, 'priority may use the whole pool');
  p.release();
  t.throws(() => pool.tryAcquire(0), RangeError);
});

t.test('the reserved share keeps priority traffic flowing when bulk has exhausted the rest', async (t) => {
  const clock = manualTimers();
  const pool = new NetworkBufferPool({ totalBytes: 64 * 32 * KiB, segmentBytes: 32 * KiB, timers: clock.timers });
  t.equal(pool.reservedSegments, 7);
  const bulkLeases = [];
  for (;;) {
    const l = pool.tryAcquire(1, 'bulk');
    if (!l) break;
    bulkLeases.push(l);
  }
  t.equal(bulkLeases.length, 57);
  const waitingBulk = pool.acquire(1, 'bulk').catch((e: unknown) => e);
  // A thousand heartbeats and acks, each holding its segment briefly: all served without waiting.
  for (let i = 0; i < 1000; i++) {
    const hb = pool.tryAcquire(1, 'priority');
    t.ok(hb, `heartbeat ${i} got a segment`);
    if (!hb) break;
    hb.release();
    if (t.passing() === false) break;
  }
  const acks = [];
  for (let i = 0; i < 7; i++) acks.push(await pool.acquire(1, 'priority'));
  t.equal(pool.stats().reservedInUse, 7);
  t.equal(pool.stats().availableSegments, 0);
  for (const a of acks) a.release();
  t.equal(pool.stats().waiting, 1, 'released reserve segments are not handed to bulk');
  clock.advance(10_000);
  t.type(await waitingBulk, PoolExhaustedError);
  for (const l of bulkLeases) l.release();
  t.equal(pool.availableSegments, 64);
});

t.test('priority waiters are served before bulk waiters', async (t) => {
  const clock = manualTimers();
  const pool = new NetworkBufferPool({ totalBytes: 8 * 32 * KiB, segmentBytes: 32 * KiB, reservedSegments: 2, timers: clock.timers });
  const all = pool.tryAcquire(8, 'priority')!;
  const order: string[] = [];
  const b = pool.acquire(1, 'bulk').then((l) => (order.push('bulk'), l));
  const p = pool.acquire(1, 'priority').then((l) => (order.push('priority'), l));
  all.release();
  (await p).release();
  (await b).release();
  t.same(order, ['priority', 'bulk']);
});

t.test('close rejects waiters', async (t) => {
  const pool = new NetworkBufferPool({ totalBytes: 8 * 32 * KiB, segmentBytes: 32 * KiB, reservedSegments: 2 });
  const all = pool.tryAcquire(6)!;
  const w = pool.acquire(1);
  pool.close();
  t.match(await rejection(w), { reason: 'closed' });
  t.match(await rejection(pool.acquire(1)), { reason: 'closed' });
  all.release();
});

t.test('no leak after random acquire/release/timeout sequences', async (t) => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(
        fc.oneof(
          fc.record({ op: fc.constant('acquire' as const), n: fc.integer({ min: 1, max: 6 }), prio: fc.boolean() }),
          fc.record({ op: fc.constant('release' as const), i: fc.nat() }),
          fc.record({ op: fc.constant('tick' as const), ms: fc.integer({ min: 1, max: 300 }) }),
        ),
        { maxLength: 80 },
      ),
      async (ops) => {
        const clock = manualTimers();
        const pool = new NetworkBufferPool({ totalBytes: 12 * 2048, segmentBytes: 2048, reservedSegments: 3, maxWaiters: 4, maxWaitMs: 200, timers: clock.timers });
        const held: { release(): void; segments: readonly Buffer[] }[] = [];
        const pending: Promise<unknown>[] = [];
        for (const op of ops) {
          if (op.op === 'acquire') {
            pending.push(pool.acquire(op.n, op.prio ? 'priority' : 'bulk').then((l) => held.push(l), () => undefined));
          } else if (op.op === 'release' && held.length > 0) {
            held.splice(op.i % held.length, 1)[0]!.release();
          } else if (op.op === 'tick') {
            clock.advance(op.ms);
          }
          await flush();
          // Invariant: leased segments are disjoint and accounted for.
          const leased = held.flatMap((l) => l.segments);
          if (new Set(leased).size !== leased.length) return false;
          if (pool.stats().segmentsInUse !== leased.length) return false;
          if (!leased.every((s) => pool.isLeased(s))) return false;
        }
        clock.advance(1_000_000);
        await Promise.all(pending);
        for (const l of held.splice(0)) l.release();
        const s = pool.stats();
        return s.availableSegments === 12 && s.segmentsInUse === 0 && s.waiting === 0 && clock.pending() === 0;
      },
    ),
    { numRuns: 200 },
  );
  t.pass('pool returned to full after every sequence');
});

t.test('readIntoSegments: a body of N bytes occupies ceil(N / segment) segments', async (t) => {
  const pool = new NetworkBufferPool({ totalBytes: 64 * 1024, segmentBytes: 1024, reservedSegments: 4 });
  const text = JSON.stringify({ msg: 'é€𝄞'.repeat(300), n: 1 });
  const bytes = Buffer.from(text);
  const chunks = [bytes.subarray(0, 7), bytes.subarray(7, 1500), bytes.subarray(1500)];
  const body = await readIntoSegments(Readable.from(chunks), pool, { declaredBytes: bytes.length, maxBytes: 1 << 20, trafficClass: 'bulk' });
  t.equal(body.byteLength, bytes.length);
  t.equal(body.lease.segments.length, Math.ceil(bytes.length / 1024));
  t.same(body.json(), JSON.parse(text), 'multi-byte characters split across segments decode');
  t.equal(pool.stats().segmentsInUse, Math.ceil(bytes.length / 1024));
  body.release();
  t.equal(pool.stats().segmentsInUse, 0);

  // Chunked (no declared length): segments taken one at a time.
  const chunked = await readIntoSegments(Readable.from(chunks), pool, { maxBytes: 1 << 20, trafficClass: 'priority' });
  t.equal(chunked.text(), text);
  t.equal(chunked.lease.segments.length, Math.ceil(bytes.length / 1024));
  chunked.release();
  t.equal(pool.stats().segmentsInUse, 0);
});

t.test('readIntoSegments releases segments on error, abort and limits', async (t) => {
  const pool = new NetworkBufferPool({ totalBytes: 64 * 1024, segmentBytes: 1024, reservedSegments: 4 });
  async function* failing() {
    yield Buffer.alloc(3000, 97);
    throw new Error('peer reset');
  }
  await t.rejects(readIntoSegments(failing(), pool, { declaredBytes: 5000, maxBytes: 1 << 20, trafficClass: 'bulk' }), /peer reset/);
  t.equal(pool.stats().segmentsInUse, 0, 'released after a stream error');

  const aborted = new Readable({ read() {} });
  const p = readIntoSegments(aborted, pool, { maxBytes: 1 << 20, trafficClass: 'bulk' });
  aborted.push(Buffer.alloc(2500, 98));
  await flush();
  t.equal(pool.stats().segmentsInUse, 3, 'segments taken while reading');
  aborted.destroy(new Error('aborted'));
  await t.rejects(p, /aborted/);
  t.equal(pool.stats().segmentsInUse, 0, 'released after abort');

  await t.rejects(readIntoSegments(Readable.from([Buffer.alloc(10)]), pool, { declaredBytes: 5000, maxBytes: 100, trafficClass: 'bulk' }), BodyLimitError);
  t.match(await rejection(readIntoSegments(Readable.from([Buffer.alloc(3000)]), pool, { maxBytes: 2000, trafficClass: 'bulk' })), { statusCode: 413 });
  t.match(await rejection(readIntoSegments(Readable.from([Buffer.alloc(30)]), pool, { declaredBytes: 20, maxBytes: 2000, trafficClass: 'bulk' })), { statusCode: 400 });
  t.match(await rejection(readIntoSegments(Readable.from([Buffer.alloc(10)]), pool, { declaredBytes: 20, maxBytes: 2000, trafficClass: 'bulk' })), { statusCode: 400 });
  t.equal(pool.stats().segmentsInUse, 0, 'released after limit errors');

  const all = pool.tryAcquire(60)!;
  await t.rejects(readIntoSegments(Readable.from([Buffer.alloc(10)]), pool, { declaredBytes: 10, maxBytes: 2000, trafficClass: 'bulk', maxWaitMs: 0 }), PoolExhaustedError);
  all.release();
});

t.test('encodeJsonIntoSegments builds an outgoing batch in segments', async (t) => {
  const pool = new NetworkBufferPool({ totalBytes: 64 * 1024, segmentBytes: 1024, reservedSegments: 4 });
  const batch = { tasks: Array.from({ length: 50 }, (_, i) => ({ i, name: `vertex-${i}-ünïcödé-𝄞` })) };
  const out = await encodeJsonIntoSegments(batch, pool, 'bulk');
  const wire = Buffer.concat(out.chunks());
  t.equal(wire.length, out.byteLength);
  t.same(JSON.parse(wire.toString('utf8')), batch);
  let streamed = '';
  for await (const c of out.toStream()) streamed += (c as Buffer).toString('latin1');
  t.equal(Buffer.from(streamed, 'latin1').toString('utf8'), wire.toString('utf8'));
  t.ok(pool.stats().segmentsInUse > 0);
  out.release();
  t.equal(pool.stats().segmentsInUse, 0);
});
