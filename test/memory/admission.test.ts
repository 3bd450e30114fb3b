import t from 'tap';
import { AdmissionController, AdmissionRejectedError, liveCoordinationBudget, OLD_GENERATION_FILL } from '../../app/memory/admission.js';
import { estimateJobFootprintBytes, FOOTPRINT, jobShapeOf, estimateWorkload } from '../../app/memory/footprint.js';
import type { JobGraph } from '../../app/jobs/types.js';

const MiB = 1024 * 1024;
const shape = (subtasks: number, retained = 1) => ({ jobVertices: 2, subtasks, jobEdges: 1, retainedCheckpoints: retained, concurrentCheckpoints: 1 });

t.test('the footprint grows linearly in subtasks, never quadratically', async (t) => {
  const a = estimateJobFootprintBytes(shape(1000));
  const b = estimateJobFootprintBytes(shape(2000));
  const c = estimateJobFootprintBytes(shape(4000));
  t.equal(c - b, 2 * (b - a), 'linear');
  t.ok(estimateJobFootprintBytes(shape(1000, 5)) > a, 'retained checkpoints cost');
});

t.test('jobShapeOf reads a JobGraph', async (t) => {
  const g: JobGraph = {
    name: 'x',
    vertices: [
      { id: 'a', name: 'a', parallelism: 10, maxParallelism: 128, config: {} },
      { id: 'b', name: 'b', parallelism: 30, maxParallelism: 128, config: {} },
    ],
    edges: [{ source: 'a', target: 'b', distribution: 'ALL_TO_ALL' }],
    checkpointing: { interval: 1000, timeout: 10000, minPause: 0, maxConcurrent: 2, retained: 3 },
  };
  t.same(jobShapeOf(g), { jobVertices: 2, subtasks: 40, jobEdges: 1, retainedCheckpoints: 3, concurrentCheckpoints: 2 });
  t.same(jobShapeOf({ ...g, checkpointing: undefined }), { jobVertices: 2, subtasks: 40, jobEdges: 1, retainedCheckpoints: 0, concurrentCheckpoints: 0 });
});

t.test('live budget = usable old generation - caches - baseline', async (t) => {
  const b = liveCoordinationBudget({ oldGenerationBytes: 400 * MiB, cacheBytes: 80 * MiB });
  t.equal(b.liveBytes, Math.floor(400 * MiB * OLD_GENERATION_FILL) - 80 * MiB - FOOTPRINT.baselineHeapBytes);
  t.equal(liveCoordinationBudget({ oldGenerationBytes: 10 * MiB, cacheBytes: 2 * MiB }).liveBytes, 0, 'never negative');
});

t.test('admits until the budget is full, rejects with a message naming the numbers and the setting, frees on release', async (t) => {
  const per = estimateJobFootprintBytes(shape(500));
  const ac = new AdmissionController(per * 3 + 10);
  ac.admitJob('j1', shape(500));
  ac.admitJob('j2', shape(500));
  ac.admitJob('j3', shape(500));
  t.equal(ac.stats().jobs, 3);
  t.equal(ac.freeBytes, 10);
  const err = (() => {
    try {
      ac.admitJob('j4', shape(500), 'big pipeline');
    } catch (e) {
      return e;
    }
    return undefined;
  })();
  t.type(err, AdmissionRejectedError);
  const e = err as AdmissionRejectedError;
  t.equal(e.statusCode, 503);
  t.equal(e.estimateBytes, per);
  t.equal(e.freeBytes, 10);
  t.match(e.message, /Job 'big pipeline' was not admitted: its estimated live footprint is [\d.]+kb \(500 subtasks/);
  t.match(e.message, /only 10b of the [\d.]+[km]b live-coordination budget is free \(3 admitted job\(s\)/);
  t.match(e.message, /jobmanager\.process\.memory\.size \(or jobmanager\.heap\.memory\.size\)/);
  t.same(e.errors, [e.message]);
  t.equal(ac.stats().rejected, 1);
  t.notOk(ac.has('j4'), 'a rejected job holds nothing');

  t.ok(ac.release('j2'));
  t.notOk(ac.release('j2'), 'release is idempotent');
  ac.admitJob('j4', shape(500));
  t.equal(ac.stats().admitted, 4);
});

t.test('TaskManagers are charged, never refused, and shrink what jobs can get', async (t) => {
  const ac = new AdmissionController(1 * MiB);
  for (let i = 0; i < 200; i++) ac.charge(`tm${i}`, 'taskmanager', 8 * 1024);
  t.equal(ac.stats().taskManagers, 200);
  t.equal(ac.freeBytes, 0, 'over budget: nothing free');
  t.throws(() => ac.admitJob('j', shape(1)), AdmissionRejectedError);
  for (let i = 0; i < 200; i++) ac.release(`tm${i}`);
  t.equal(ac.stats().reservedBytes, 0);
});

t.test('rekey moves a reservation made before the job id was known', async (t) => {
  const ac = new AdmissionController(10 * MiB);
  const est = ac.admitJob('pending-1', shape(10));
  ac.rekey('pending-1', 'abc');
  t.notOk(ac.has('pending-1'));
  t.ok(ac.has('abc'));
  t.equal(ac.stats().reservedBytes, est);
  ac.release('abc');
  t.equal(ac.stats().reservedBytes, 0);
});

t.test('estimateWorkload adds jobs, TaskManagers and archived jobs', async (t) => {
  const w = estimateWorkload({ jobs: 10, subtasksPerJob: 100, taskManagers: 20, retainedCheckpoints: 1, archivedJobs: 50 });
  t.equal(w.liveBytes, 10 * w.perJobBytes + w.taskManagerBytes);
  t.ok(w.archivedJobsBytes > 0);
});
