import t from 'tap';
import {
  ByteBoundedCache,
  createCoordinationCaches,
  ENTRY_OVERHEAD_BYTES,
  estimateEntryBytes,
  splitCacheBudget,
} from '../../app/memory/caches.js';

const job = (i: number, vertices = 3) => ({
  jid: i.toString(16).padStart(32, '0'),
  name: `job-${i}`,
  state: 'FINISHED',
  'end-time': 1_700_000_000_000 + i,
  vertices: Array.from({ length: vertices }, (_, v) => ({ id: `v${v}`, name: `map-${v}`, parallelism: 4, status: 'FINISHED' })),
});

t.test('estimateEntryBytes weighs JSON size with the calibrated factor, strings exactly', async (t) => {
  const small = estimateEntryBytes(job(1, 1));
  const big = estimateEntryBytes(job(1, 50));
  t.ok(big > small * 10, 'grows with content');
  t.ok(small >= JSON.stringify(job(1, 1)).length, 'never below the JSON size');
  t.equal(estimateEntryBytes('abc'), ENTRY_OVERHEAD_BYTES + 16 + 3);
  t.equal(estimateEntryBytes('a€c'), ENTRY_OVERHEAD_BYTES + 16 + 6, 'two-byte strings count double');
});

t.test('splitCacheBudget gives 70% to archived jobs, the rest to checkpoint history', async (t) => {
  const b = splitCacheBudget(15 * 1024 * 1024);
  t.ok(b.archivedJobsBytes + b.checkpointStatsBytes <= 15 * 1024 * 1024);
  t.ok(Math.abs(b.archivedJobsBytes / (15 * 1024 * 1024) - 0.7) < 0.001);
  const tiny = splitCacheBudget(0);
  t.equal(tiny.archivedJobsBytes, 64 * 1024, 'floors keep both caches usable');
});

t.test('the cache holds its byte budget and evicts least recently used first', async (t) => {
  let now = 1_000;
  const cache = new ByteBoundedCache<ReturnType<typeof job>, { name: string; state: string }>({
    name: 'archived-jobs',
    noun: 'job',
    maxBytes: 20_000,
    summarize: (v) => ({ name: v.name, state: v.state }),
    now: () => now,
  });
  const perEntry = estimateEntryBytes(job(0));
  for (let i = 0; i < 200; i++) {
    now += 1;
    t.ok(cache.set(`j${i}`, job(i)));
    if (i === 5) cache.get('j0'); // touch: j0 becomes most recent
    t.ok(cache.bytes <= 20_000, `within budget after ${i}`);
    if (!t.passing()) break;
  }
  const s = cache.stats();
  t.ok(s.entries > 0 && s.entries <= Math.floor(20_000 / perEntry) + 1, `holds ~budget/entry entries (${s.entries})`);
  t.equal(s.evictions, 200 - s.entries);
  t.equal(cache.lookup('j199').state, 'present');

  const gone = cache.lookup('j1');
  t.equal(gone.state, 'evicted');
  if (gone.state === 'evicted') {
    t.same(gone.tombstone.summary, { name: 'job-1', state: 'FINISHED' }, 'compact summary kept');
    t.equal(gone.tombstone.reason, 'budget');
    t.match(gone.message, /job j1 was evicted from the archived-jobs cache at .* budget of .*jobmanager\.cache\.memory\.fraction/);
  }
  t.equal(cache.lookup('nope').state, 'unknown');

  // Re-adding an evicted key clears its tombstone.
  cache.set('j1', job(1));
  t.equal(cache.lookup('j1').state, 'present');
  cache.delete('j1');
  t.equal(cache.lookup('j1').state, 'unknown', 'an explicit delete is not an eviction');
});

t.test('an entry larger than the whole budget is refused and remembered as too large', async (t) => {
  const cache = new ByteBoundedCache<object>({ name: 'checkpoint-stats', maxBytes: 2_000 });
  t.equal(cache.set('huge', job(1, 100)), false);
  const l = cache.lookup('huge');
  t.equal(l.state, 'evicted');
  if (l.state === 'evicted') {
    t.equal(l.tombstone.reason, 'too-large');
    t.match(l.message, /alone exceeds/);
  }
  t.equal(cache.stats().rejectedTooLarge, 1);
  t.equal(cache.stats().bytes, 0);
});

t.test('tombstones are bounded', async (t) => {
  const cache = new ByteBoundedCache<string>({ name: 'x', maxBytes: 1_000, maxTombstones: 10 });
  for (let i = 0; i < 500; i++) cache.set(`k${i}`, 'x'.repeat(300));
  t.equal(cache.stats().tombstones, 10);
  t.equal(cache.lookup('k0').state, 'unknown', 'the oldest eviction is forgotten');
  t.ok(cache.stats().evictions >= 490);
});

t.test('createCoordinationCaches sizes both caches from the plan budget', async (t) => {
  const caches = createCoordinationCaches<object, object>(4 * 1024 * 1024);
  const b = splitCacheBudget(4 * 1024 * 1024);
  t.equal(caches.archivedJobs.maxBytes, b.archivedJobsBytes);
  t.equal(caches.checkpointStats.maxBytes, b.checkpointStatsBytes);
  for (let i = 0; i < 10_000; i++) caches.archivedJobs.set(`j${i}`, job(i, 5));
  t.ok(caches.bytes() <= 4 * 1024 * 1024);
  t.ok(caches.archivedJobs.stats().evictions > 0);
  t.same(caches.stats().map((s) => s.name), ['archived-jobs', 'checkpoint-stats']);
});

t.test('onEvict lets the owner of an entry drop it (checkpoint statistics of terminal jobs)', async (t) => {
  const dropped: string[] = [];
  const caches = createCoordinationCaches<object, { statsJsonBytes: number; drop: () => void }>(0, {
    checkpointStatsSizeOf: (v) => v.statsJsonBytes,
    onCheckpointStatsEvict: (v) => v.drop(),
  });
  const budget = caches.checkpointStats.maxBytes;
  for (let i = 0; i < 10; i++) {
    caches.checkpointStats.set(`job${i}`, { statsJsonBytes: Math.floor(budget / 4), drop: () => dropped.push(`job${i}`) });
  }
  t.same(dropped, ['job0', 'job1', 'job2', 'job3', 'job4', 'job5'], 'the oldest are dropped, the newest 4 fit');
  t.equal(caches.checkpointStats.size, 4);
  caches.checkpointStats.set('huge', { statsJsonBytes: budget * 2, drop: () => dropped.push('huge') });
  t.equal(dropped.at(-1), 'huge', 'an entry larger than the budget is dropped at once');
});
