// Dispatcher.overview() keeps running counts of archived jobs per status
// (it is polled by dashboards, so it must not scan the archive); they must
// equal a scan of the archive whatever the store does: trimmed to
// jobstore.max-capacity, evicted by a byte budget, or refusing an entry.
import t from 'tap';
import { ManualClock } from '../../app/cluster/clock.js';
import { ResourceManager } from '../../app/cluster/resource-manager.js';
import { Dispatcher } from '../../app/jobs/dispatcher.js';
import type { ArchiveStore, JobStatus } from '../../app/jobs/types.js';
import { ByteBoundedCache } from '../../app/memory/caches.js';
import { DEFAULT_OPTIONS, FakeGateway, THREE_VERTEX_JOB, harness } from './harness.js';

function build(options: { archivedJobsMax?: number; archiveBytes?: number } = {}) {
  const clock = new ManualClock();
  const resourceManager = new ResourceManager(clock, { heartbeatIntervalMs: 10_000, heartbeatTimeoutMs: 50_000 });
  const cache = options.archiveBytes === undefined ? undefined : new ByteBoundedCache<object>({ name: 'archived-jobs', maxBytes: options.archiveBytes });
  const dispatcher = new Dispatcher({
    clock,
    resourceManager,
    gateway: new FakeGateway(),
    options: { ...DEFAULT_OPTIONS, archivedJobsMax: options.archivedJobsMax ?? DEFAULT_OPTIONS.archivedJobsMax },
    ...(cache ? { createArchiveStore: <V extends object>() => cache.asArchiveStore() as unknown as ArchiveStore<V> } : {}),
  });
  return { dispatcher, cache };
}

/** What overview() reported before it kept counts: a scan of the archived jobs' statuses. */
function scanned(dispatcher: Dispatcher) {
  const count = (s: JobStatus) => dispatcher.listJobs().jobs.filter((j) => j.status === s).length;
  return { 'jobs-finished': count('FINISHED'), 'jobs-cancelled': count('CANCELED'), 'jobs-failed': count('FAILED') };
}

const STATUSES: JobStatus[] = ['FINISHED', 'CANCELED', 'FAILED', 'FINISHED'];

t.test('counts follow jobstore.max-capacity trimming', async (t) => {
  const { dispatcher } = build({ archivedJobsMax: 5 });
  for (let i = 0; i < 13; i++) {
    dispatcher.recoverArchivedJob(`job-${i}`, THREE_VERTEX_JOB, STATUSES[i % STATUSES.length]!, 0, 1);
    t.match(dispatcher.overview(), scanned(dispatcher), `after ${i + 1} archived`);
  }
  t.equal(dispatcher.listJobs().jobs.length, 5);
});

t.test('counts follow evictions by a byte-bounded store', async (t) => {
  const { dispatcher, cache } = build({ archiveBytes: 64 * 1024 });
  for (let i = 0; i < 60; i++) {
    dispatcher.recoverArchivedJob(`job-${i}`, THREE_VERTEX_JOB, STATUSES[i % STATUSES.length]!, 0, 1);
    t.match(dispatcher.overview(), scanned(dispatcher), `after ${i + 1} archived`);
  }
  t.ok(cache!.stats().evictions > 0, `the store evicted (${cache!.stats().evictions})`);
});

t.test('an entry the store refuses (larger than its budget) is not counted', async (t) => {
  const { dispatcher, cache } = build({ archiveBytes: 64 });
  dispatcher.recoverArchivedJob('job-0', THREE_VERTEX_JOB, 'FINISHED', 0, 1);
  t.equal(cache!.stats().rejectedTooLarge, 1);
  t.match(dispatcher.overview(), { 'jobs-finished': 0, 'jobs-cancelled': 0, 'jobs-failed': 0 });
});

t.test('a cancelled job is counted once it is archived', async (t) => {
  const h = harness({ archivedJobsMax: 1 });
  h.addTaskManager('tm-a', 4);
  const { jobId } = h.dispatcher.submitJob(THREE_VERTEX_JOB);
  await h.flush();
  h.dispatcher.cancelJob(jobId);
  h.report(jobId, 'CANCELED');
  t.match(h.dispatcher.overview(), { 'jobs-running': 0, 'jobs-cancelled': 1 });
  t.match(h.dispatcher.overview(), scanned(h.dispatcher));
  t.teardown(() => h.dispatcher.close());
});
