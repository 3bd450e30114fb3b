// Submit -> all 20,000 tasks RUNNING over the real RPC: the JobManager as a
// real process (bin/jobmanager, so with its memory plan's V8 flags) and 20
// simulated TaskManagers x 1,000 slots in one simulator process. Timed from
// POST /jobs until GET /jobs/overview reports 20,000 running tasks (polled
// every 20 ms), then the job is canceled and the next run starts.
import { performance } from 'node:perf_hooks';
import { startCluster, until, untilRunning } from './cluster.js';
import { WIDE_JOB, fmt, median } from './util.js';

export const meta = {
  id: 'deploy-over-rpc',
  title: 'Submit -> all 20,000 tasks RUNNING over RPC, 20 simulated TaskManagers x 1,000 slots (real processes)',
  anchor: 'Flink 1.14 task deployment of the 2 x 10,000 all-to-all job: 17.2 s.',
};

export async function run() {
  const cluster = await startCluster({ storagePrefix: 'bench-deploy-rpc-', taskManagers: 20, slots: 1000 });
  const { restUrl, get } = cluster;
  try {
    const RUNS = 3;
    const times = [];
    let heapUsed = 0;
    for (let i = 0; i < RUNS + 1; i++) {
      const t0 = performance.now();
      const res = await fetch(`${restUrl}/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(WIDE_JOB) });
      const { jobid } = await res.json();
      if (res.status !== 202) throw new Error(`submit answered ${res.status}`);
      await untilRunning(cluster, jobid, 20_000);
      const ms = performance.now() - t0;
      if (i >= 1) times.push(ms);
      const [heap] = await get('/jobmanager/metrics?get=Status.JVM.Memory.Heap.Used');
      heapUsed = Math.max(heapUsed, Number(heap.value));
      await fetch(`${restUrl}/jobs/${jobid}?mode=cancel`, { method: 'PATCH' });
      await until('slots free', async () => {
        const o = await get('/overview');
        return o['slots-available'] === o['slots-total'] ? true : undefined;
      }, 3_000, 20);
    }
    return {
      rows: [
        { metric: 'submit -> all 20,000 tasks RUNNING over RPC, median', value: fmt(median(times) / 1000, 2), unit: 's', anchor: 'Flink 1.14: 17.2 s' },
        { metric: 'runs', value: times.map((t) => fmt(t / 1000, 2)).join(', '), unit: 's' },
        { metric: 'JobManager V8 heap used with the job RUNNING (max over runs)', value: fmt(heapUsed / 2 ** 20, 1), unit: 'MiB' },
      ],
      notes: [
        `${RUNS} measured runs after 1 warm-up, each followed by a cancel. The JobManager runs with a 1g memory plan; ` +
          'the simulator process hosts all 20 TaskManagers (one HTTP endpoint, one undici Pool to the JobManager), ' +
          'reports INITIALIZING and RUNNING batched per TaskManager; both share the 2 cores with the polling client. ' +
          'Includes validation, ExecutionGraph build, slot allocation, 20 deploy RPCs of 1,000 descriptors each, and 40,000 state updates over RPC. ' +
          'Resolution: the 20 ms poll of GET /jobs/overview.',
      ],
    };
  } finally {
    await cluster.stop();
  }
}
