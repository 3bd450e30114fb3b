// Issue 4 chaos test: >= 20 cycles of kill -9 of the JobManager at random
// moments while checkpoints are in flight, restarting it on the same storage
// directory (and RPC port) each time. After every restart the job is RUNNING
// again and resumes from a checkpoint at least as new as the last one reported
// completed before the kill; checkpoint ids only increase; every file the
// JobManager would load is complete and checksummed. Bounded: 20 cycles of a
// few seconds each.
import t from 'tap';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeEnvelope, isTempFileName } from '../../app/checkpoints/atomic-file.js';
import { CHECKPOINT_FORMAT, COUNTER_FORMAT, parseCompletedCheckpoint } from '../../app/checkpoints/checkpoint-store.js';
import { JOBGRAPH_FORMAT, STATUS_FORMAT } from '../../app/checkpoints/state-store.js';
import { distMissingReason, restartableJobManager, startSimulator, until } from './cluster-harness.js';

const CYCLES = 20;

/** Every file under jobs/ the JobManager would read must decode (temp files are never read). */
function checkStorage(storageDir: string): { files: number; counterNext: number | undefined; problems: string[] } {
  const problems: string[] = [];
  let files = 0;
  let counterNext: number | undefined;
  const walk = (dir: string, jobId?: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) {
        walk(path, jobId ?? (/^[0-9a-f]{32}$/.test(name) ? name : undefined));
        continue;
      }
      if (isTempFileName(name) || name.endsWith('.corrupt')) continue;
      files++;
      const format = name === 'jobgraph.json' ? JOBGRAPH_FORMAT : name === 'status.json' ? STATUS_FORMAT : name === 'checkpoint-counter.json' ? COUNTER_FORMAT : CHECKPOINT_FORMAT;
      try {
        const payload = decodeEnvelope(path, format, readFileSync(path));
        if (format === CHECKPOINT_FORMAT) parseCompletedCheckpoint(path, payload, jobId ?? '', undefined);
        if (format === COUNTER_FORMAT) counterNext = (payload as { next: number }).next;
      } catch (err) {
        problems.push((err as Error).message);
      }
    }
  };
  walk(join(storageDir, 'jobs'));
  return { files, counterNext, problems };
}

const missing = distMissingReason();
if (missing !== undefined) {
  if (process.env['CI']) throw new Error(missing);
  t.plan(0, `needs a build: ${missing}`);
} else {
  t.test(`${CYCLES} cycles of kill -9 of the JobManager while checkpoints are in flight`, async (t) => {
    const storageDir = t.testdir();
    const jm = await restartableJobManager(t.teardown.bind(t), storageDir, ['--web.checkpoints.history=50']);
    await jm.boot();
    const sim = startSimulator(t.teardown.bind(t), jm, { idPrefix: 'chaos', count: 2, slots: 2 });
    const restoreLines = (): number[] =>
      sim.output().split('\n').flatMap((l) => {
        try {
          const r = JSON.parse(l) as { event?: string; checkpointId?: number };
          return r.event === 'task-restored' ? [r.checkpointId!] : [];
        } catch {
          return [];
        }
      });
    await until('TaskManagers registered', async () => ((await jm.get('/overview')).body.taskmanagers === 2 ? true : undefined));
    const submit = await jm.send('POST', '/jobs', {
      name: 'chaos',
      vertices: [
        // Acks take ~40 ms, checkpoints start every 60 ms: one is almost always in flight.
        { id: 'source', name: 'Source', parallelism: 2, config: { 'sim.checkpoint.ack-delay-ms': '40' } },
        { id: 'sink', name: 'Sink', parallelism: 2 },
      ],
      edges: [{ source: 'source', target: 'sink', distribution: 'ALL_TO_ALL' }],
      checkpointing: { interval: 60, timeout: 3000, retained: 2 },
      restartStrategy: { type: 'fixed-delay', attempts: 1000, delay: 100 },
    });
    t.equal(submit.status, 202);
    const jobid: string = submit.body.jobid;

    let killsWithCheckpointInFlight = 0;
    let highestIdEver = 0;
    for (let cycle = 1; cycle <= CYCLES; cycle++) {
      // Running with checkpoints completing in this JobManager's lifetime.
      await until(`cycle ${cycle}: a checkpoint completed`, async () => {
        const s = (await jm.get(`/jobs/${jobid}/checkpoints`)).body;
        return s?.latest?.completed ? true : undefined;
      }, 300);
      // Watch until a random moment, then kill -9.
      const killAt = Date.now() + Math.floor(Math.random() * 400);
      let lastCompleted = 0;
      let inFlight = false;
      do {
        const s = (await jm.get(`/jobs/${jobid}/checkpoints`)).body;
        lastCompleted = Math.max(lastCompleted, s.latest.completed?.id ?? 0);
        for (const h of s.history as { id: number }[]) highestIdEver = Math.max(highestIdEver, h.id);
        inFlight = s.counts.in_progress > 0;
        await sleep(Math.max(0, Math.min(20, killAt - Date.now())));
      } while (Date.now() < killAt);
      const exit = await jm.killHard();
      t.equal(exit.signal, 'SIGKILL', `cycle ${cycle}: killed`);
      if (inFlight) killsWithCheckpointInFlight++;
      t.notMatch(exit.stdout, /is corrupt|could not be loaded/, `cycle ${cycle}: no corrupt file reported in the last lifetime`);

      const disk = checkStorage(storageDir);
      t.same(disk.problems, [], `cycle ${cycle}: every file the JobManager would load is complete (${disk.files} files)`);
      t.ok(disk.counterNext !== undefined && disk.counterNext > highestIdEver, `cycle ${cycle}: the durable counter (${disk.counterNext}) is beyond every id seen (${highestIdEver})`);
      const counterAtKill = disk.counterNext ?? 0;

      const restoresBefore = restoreLines().length;
      await jm.boot();
      const resumed = await until(`cycle ${cycle}: job resumed from a checkpoint`, async () => {
        const s = (await jm.get(`/jobs/${jobid}/checkpoints`)).body;
        return s?.latest?.restored && s.latest.completed ? s : undefined;
      }, 300);
      t.ok(resumed.latest.restored.id >= lastCompleted, `cycle ${cycle}: restored ${resumed.latest.restored.id} >= last completed before the kill ${lastCompleted}`);
      const newIds = (resumed.history as { id: number; status: string }[]).map((h) => h.id);
      t.ok(newIds.every((id) => id >= counterAtKill), `cycle ${cycle}: new checkpoint ids (${Math.min(...newIds)}..) continue above every id used before (${counterAtKill})`);
      t.equal((await jm.get(`/jobs/${jobid}`)).body.state, 'RUNNING', `cycle ${cycle}: job RUNNING`);
      const simRestores = await until(`cycle ${cycle}: simulator restore report`, async () => {
        const l = restoreLines().slice(restoresBefore, restoresBefore + 4);
        return l.length === 4 ? l : undefined;
      });
      t.same(simRestores, [1, 2, 3, 4].map(() => resumed.latest.restored.id), `cycle ${cycle}: the TaskManagers restored exactly checkpoint ${resumed.latest.restored.id}`);
    }
    t.comment(`${killsWithCheckpointInFlight} of ${CYCLES} kills observed a checkpoint in progress just before`);
    t.ok(killsWithCheckpointInFlight > 0, 'kills hit checkpoints in flight');
  });
}
