// The cluster REST endpoints in-process (fastify.inject) over the real
// Dispatcher and ResourceManager with a ManualClock and a recording gateway:
// invalid JobGraphs of every kind -> 400 naming the field, Flink shapes, 404s,
// cancel, metrics. Nothing here opens a socket.
import t from 'tap';
import { pino } from 'pino';
import { ManualClock } from '../../../app/cluster/clock.js';
import { ResourceManager } from '../../../app/cluster/resource-manager.js';
import { Dispatcher } from '../../../app/jobs/dispatcher.js';
import type { TaskDeploymentDescriptor, TaskExecutorGateway } from '../../../app/jobs/types.js';
import { clusterRest } from '../../../app/http/rest/cluster.js';
import { createRestServer } from '../../../app/http/server.js';

const BODY_LIMIT = 64 * 1024;

async function setup(t: { teardown(fn: () => unknown): void }) {
  const clock = new ManualClock();
  const resourceManager = new ResourceManager(clock, { heartbeatIntervalMs: 1000, heartbeatTimeoutMs: 5000 });
  const deployed: TaskDeploymentDescriptor[] = [];
  const canceled: string[] = [];
  const gateway: TaskExecutorGateway = {
    async deployTasks(_tm, descriptors) { deployed.push(...descriptors); },
    async cancelTasks(_tm, ids) { canceled.push(...ids); },
  };
  const dispatcher = new Dispatcher({
    clock, resourceManager, gateway,
    options: { slotRequestTimeoutMs: 300_000, defaultRestartStrategy: { type: 'fixed-delay', attempts: 3, delay: 1000 }, archivedJobsMax: 100, attemptHistorySize: 4, exceptionHistorySize: 16 },
  });
  const app = createRestServer({ logger: pino({ level: 'silent' }), bodyLimitBytes: BODY_LIMIT });
  await app.register(clusterRest, { dispatcher, resourceManager });
  await app.ready();
  t.teardown(async () => { dispatcher.close(); await app.close(); });
  return { app, clock, resourceManager, dispatcher, deployed, canceled };
}

const valid = () => ({
  name: 'three',
  vertices: [
    { id: 'source', name: 'Source', parallelism: 2 },
    { id: 'map', name: 'Map', parallelism: 2 },
    { id: 'sink', name: 'Sink', parallelism: 1 },
  ],
  edges: [
    { source: 'source', target: 'map', distribution: 'POINTWISE' },
    { source: 'map', target: 'sink', distribution: 'ALL_TO_ALL' },
  ],
});

t.test('at least 20 invalid JobGraphs: each 400 naming the field; nothing is accepted or crashes', async (t) => {
  const { app, dispatcher } = await setup(t);
  const mutate = (f: (g: any) => void) => { const g: any = valid(); f(g); return JSON.stringify(g); };
  const cases: { name: string; payload: string; contentType?: string; status?: number; error: RegExp }[] = [
    { name: 'non-JSON', payload: '{"name": "x", vertices: [', error: /not valid JSON/ },
    { name: 'truncated JSON', payload: '{"name": "x"', error: /not valid JSON/ },
    { name: 'empty body', payload: '', error: /empty/ },
    { name: 'JSON array', payload: '[]', error: /body: must be a JSON object/ },
    { name: 'JSON string', payload: '"job"', error: /body: must be a JSON object/ },
    { name: 'wrong content type', payload: JSON.stringify(valid()), contentType: 'text/plain', status: 415, error: /content-type must be application\/json/ },
    { name: 'oversized body', payload: mutate((g) => { g.name = 'x'.repeat(BODY_LIMIT); }), status: 413, error: /larger than 65536 bytes.*rest\.server\.max-content-length/ },
    { name: 'missing vertices', payload: mutate((g) => { delete g.vertices; }), error: /^vertices: required/ },
    { name: 'vertices not an array', payload: mutate((g) => { g.vertices = {}; }), error: /^vertices: must be an array/ },
    { name: 'no vertices', payload: mutate((g) => { g.vertices = []; }), error: /^vertices: must contain at least one/ },
    { name: 'parallelism 0', payload: mutate((g) => { g.vertices[0].parallelism = 0; }), error: /vertices\[0\]\.parallelism/ },
    { name: 'parallelism negative', payload: mutate((g) => { g.vertices[1].parallelism = -3; }), error: /vertices\[1\]\.parallelism/ },
    { name: 'parallelism above 32768', payload: mutate((g) => { g.vertices[0].parallelism = 40000; }), error: /vertices\[0\]\.(max)?[pP]arallelism/ },
    { name: 'parallelism above maxParallelism', payload: mutate((g) => { g.vertices[0].parallelism = 10; g.vertices[0].maxParallelism = 4; }), error: /vertices\[0\]\.(max)?[pP]arallelism/ },
    { name: 'parallelism as string', payload: mutate((g) => { g.vertices[2].parallelism = '2'; }), error: /vertices\[2\]\.parallelism/ },
    { name: 'parallelism fractional', payload: mutate((g) => { g.vertices[2].parallelism = 1.5; }), error: /vertices\[2\]\.parallelism/ },
    { name: 'vertex id missing', payload: mutate((g) => { delete g.vertices[1].id; }), error: /vertices\[1\]\.id/ },
    { name: 'vertex id number', payload: mutate((g) => { g.vertices[1].id = 7; }), error: /vertices\[1\]\.id/ },
    { name: 'duplicate vertex ids', payload: mutate((g) => { g.vertices[2].id = 'map'; g.edges = []; }), error: /vertices\[2\]\.id: duplicate vertex id "map"/ },
    { name: 'unknown edge target', payload: mutate((g) => { g.edges[1].target = 'nowhere'; }), error: /edges\[1\]\.target: unknown vertex "nowhere"/ },
    { name: 'unknown edge source', payload: mutate((g) => { g.edges[0].source = 'ghost'; }), error: /edges\[0\]\.source: unknown vertex "ghost"/ },
    { name: 'cycle', payload: mutate((g) => { g.edges.push({ source: 'sink', target: 'source', distribution: 'ALL_TO_ALL' }); }), error: /cycle/ },
    { name: 'self loop', payload: mutate((g) => { g.edges.push({ source: 'map', target: 'map', distribution: 'ALL_TO_ALL' }); }), error: /edges\[2\].*self-loop/ },
    { name: 'bad distribution', payload: mutate((g) => { g.edges[0].distribution = 'BROADCAST'; }), error: /edges\[0\]\.distribution/ },
    { name: 'edges not an array', payload: mutate((g) => { g.edges = 'a->b'; }), error: /^edges: must be an array/ },
    { name: 'unknown top-level field', payload: mutate((g) => { g.parallelism = 4; }), error: /parallelism: unknown field/ },
    { name: 'config value not a string', payload: mutate((g) => { g.vertices[0].config = { 'sim.finish-after-ms': 5 }; }), error: /vertices\[0\]\.config/ },
    { name: 'name not a string', payload: mutate((g) => { g.name = 42; }), error: /^name: must be a string/ },
    { name: 'bad checkpoint interval', payload: mutate((g) => { g.checkpointing = { interval: -1, timeout: 1000, minPause: 0, maxConcurrent: 1, retained: 1 }; }), error: /checkpointing\.interval/ },
    { name: 'bad restart strategy', payload: mutate((g) => { g.restartStrategy = { type: 'sometimes' }; }), error: /restartStrategy\.type/ },
  ];
  t.ok(cases.length >= 20);
  for (const c of cases) {
    const res = await app.inject({ method: 'POST', url: '/jobs', payload: c.payload, headers: { 'content-type': c.contentType ?? 'application/json' } });
    t.equal(res.statusCode, c.status ?? 400, `${c.name}: status`);
    const body = res.json();
    t.ok(Array.isArray(body.errors) && body.errors.length > 0, `${c.name}: errors[]`);
    t.ok(body.errors.some((e: string) => c.error.test(e)), `${c.name}: ${JSON.stringify(body.errors)} matches ${c.error}`);
  }
  // Several problems are all reported at once.
  const many = await app.inject({ method: 'POST', url: '/jobs', payload: mutate((g) => { g.vertices[0].parallelism = 0; g.edges[1].target = 'x'; g.extra = 1; }), headers: { 'content-type': 'application/json' } });
  t.ok(many.json().errors.length >= 2, 'all errors at once');
  t.same(dispatcher.listJobs(), { jobs: [] }, 'nothing was accepted');
  const after = await app.inject({ method: 'GET', url: '/overview' });
  t.equal(after.statusCode, 200, 'still serving');
});

t.test('submit -> 202 {jobid, jobUrl}; Flink shapes of /jobs, /jobs/overview, /jobs/:id, plan, exceptions; cancel', async (t) => {
  const { app, resourceManager, deployed } = await setup(t);
  resourceManager.registerTaskManager({ taskManagerId: 'tm-a', rpcAddress: 'http://127.0.0.1:1', numberOfSlots: 4, resources: {} });
  const res = await app.inject({ method: 'POST', url: '/jobs', payload: valid() });
  t.equal(res.statusCode, 202);
  const { jobid, jobUrl } = res.json();
  t.match(jobid, /^[0-9a-f]{32}$/);
  t.equal(jobUrl, `/jobs/${jobid}`);

  const jobs = (await app.inject('/jobs')).json();
  t.same(jobs.jobs.map((j: { id: string }) => j.id), [jobid]);
  t.match(jobs.jobs[0], { id: jobid, status: String });

  const overview = (await app.inject('/jobs/overview')).json();
  t.match(overview.jobs[0], { jid: jobid, name: 'three', state: String, 'start-time': Number, 'end-time': Number, duration: Number, 'last-modification': Number, tasks: { total: 5 } });

  const details = (await app.inject(`/jobs/${jobid}`)).json();
  t.match(details, { jid: jobid, name: 'three', isStoppable: false, state: String, 'start-time': Number, 'end-time': Number, duration: Number, maxParallelism: Number, now: Number, timestamps: Object, 'status-counts': Object, plan: { jid: jobid, nodes: Array } });
  t.equal(details.vertices.length, 3);
  for (const v of details.vertices) t.match(v, { id: /^[0-9a-f]{32}$/, name: String, parallelism: Number, maxParallelism: Number, status: String, tasks: Object, metrics: Object });

  const plan = (await app.inject(`/jobs/${jobid}/plan`)).json();
  t.match(plan, { plan: { jid: jobid, name: 'three', nodes: Array } });
  t.equal(plan.plan.nodes.length, 3);

  const exceptions = (await app.inject(`/jobs/${jobid}/exceptions`)).json();
  t.match(exceptions, { 'all-exceptions': Array, truncated: Boolean, exceptionHistory: { entries: Array } });
  t.equal((await app.inject(`/jobs/${jobid}/exceptions?maxExceptions=zero`)).statusCode, 400);

  t.ok(deployed.length > 0, 'tasks were deployed through the gateway');
  const v1 = await app.inject(`/v1/jobs/${jobid}`);
  t.equal(v1.statusCode, 200, 'also served under /v1 like Flink');

  const bad = await app.inject({ method: 'PATCH', url: `/jobs/${jobid}?mode=stop` });
  t.equal(bad.statusCode, 400);
  const cancel = await app.inject({ method: 'PATCH', url: `/jobs/${jobid}?mode=cancel` });
  t.equal(cancel.statusCode, 202);
  t.same(cancel.json(), {});
});

t.test('unknown and malformed ids: 404 / 400 with {"errors": [...]}', async (t) => {
  const { app } = await setup(t);
  const unknown = 'ab'.repeat(16);
  for (const url of [`/jobs/${unknown}`, `/jobs/${unknown}/plan`, `/jobs/${unknown}/exceptions`]) {
    const res = await app.inject(url);
    t.equal(res.statusCode, 404, url);
    t.same(res.json(), { errors: [`Job ${unknown} not found`] });
  }
  const cancel = await app.inject({ method: 'PATCH', url: `/jobs/${unknown}?mode=cancel` });
  t.equal(cancel.statusCode, 404);
  t.same(cancel.json(), { errors: [`Job ${unknown} not found`] });
  const malformed = await app.inject('/jobs/not-a-job-id');
  t.equal(malformed.statusCode, 400);
  t.match(malformed.json(), { errors: [/jobid must be 32 lowercase hex/] });
  const tm = await app.inject('/taskmanagers/nope');
  t.equal(tm.statusCode, 404);
  t.match(tm.json(), { errors: [/TaskManager nope not found/] });
});

t.test('/overview, /config, /taskmanagers carry Flink field names with consistent counts', async (t) => {
  const { app, resourceManager } = await setup(t);
  resourceManager.registerTaskManager({ taskManagerId: 'tm-a', rpcAddress: 'http://127.0.0.1:1', numberOfSlots: 3, resources: { cpuCores: 2, memoryBytes: 1 << 30 } });
  resourceManager.registerTaskManager({ taskManagerId: 'tm-b', rpcAddress: 'http://127.0.0.1:2', numberOfSlots: 2, resources: {} });
  const overview = (await app.inject('/overview')).json();
  t.match(overview, {
    taskmanagers: 2, 'slots-total': 5, 'slots-available': 5, 'jobs-running': 0, 'jobs-finished': 0, 'jobs-cancelled': 0, 'jobs-failed': 0,
    'flink-version': String, 'flink-commit': String,
  });
  const config = (await app.inject('/config')).json();
  t.match(config, { 'refresh-interval': Number, 'timezone-name': String, 'timezone-offset': Number, 'flink-version': String, 'flink-revision': String, features: { 'web-submit': false, 'web-cancel': true } });
  const tms = (await app.inject('/taskmanagers')).json();
  t.equal(tms.taskmanagers.length, 2);
  for (const tm of tms.taskmanagers) {
    t.match(tm, { id: String, path: String, dataPort: Number, jmxPort: Number, timeSinceLastHeartbeat: Number, slotsNumber: Number, freeSlots: Number, totalResource: Object, freeResource: Object, hardware: Object, memoryConfiguration: Object });
  }
  t.equal(tms.taskmanagers.reduce((n: number, x: { slotsNumber: number }) => n + x.slotsNumber, 0), overview['slots-total']);
  const one = (await app.inject('/taskmanagers/tm-a')).json();
  t.match(one, { id: 'tm-a', slotsNumber: 3, allocatedSlots: [] });
});

t.test('/jobmanager/metrics: ids without get, [{id, value}] with get, unknown ids left out', async (t) => {
  const { app } = await setup(t);
  const ids = (await app.inject('/jobmanager/metrics')).json().map((m: { id: string }) => m.id);
  for (const id of ['Status.JVM.Memory.Heap.Used', 'Status.JVM.Memory.Heap.Max', 'Status.JVM.CPU.Time', 'numRegisteredTaskManagers', 'taskSlotsTotal', 'Status.JVM.GarbageCollector.Scavenge.Count']) {
    t.ok(ids.includes(id), id);
  }
  const res = (await app.inject('/jobmanager/metrics?get=Status.JVM.Memory.Heap.Used,numRegisteredTaskManagers,No.Such.Metric')).json();
  t.equal(res.length, 2);
  t.match(res[0], { id: 'Status.JVM.Memory.Heap.Used', value: /^\d+$/ });
  t.same(res[1], { id: 'numRegisteredTaskManagers', value: '0' });
});

t.test('every examples/*.json is a JobGraph POST /jobs accepts', async (t) => {
  const { readdirSync, readFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const dir = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', '..', '..', 'examples');
  const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
  t.ok(files.length >= 3, 'examples present');
  const { app } = await setup(t);
  for (const file of files) {
    const res = await app.inject({ method: 'POST', url: '/jobs', headers: { 'content-type': 'application/json' }, payload: readFileSync(join(dir, file)) });
    t.equal(res.statusCode, 202, `${file}: ${res.body}`);
  }
});
