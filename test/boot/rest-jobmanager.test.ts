// The JobManager's own REST routes, in-process (rest.inject): effective
// config in Flink's shape, memory plan + live figures, probes, 404s.
import t from 'tap';
import { getHeapStatistics } from 'node:v8';
import Fastify from 'fastify';
import { jobManagerRest } from '../../app/http/rest/jobmanager.js';
import { MEMORY_KEYS, KEYS } from '../../app/config/keys.js';
import { buildTestJobManager, NO_CGROUP } from '../helpers/jobmanager.js';

const MiB = 1024 * 1024;

t.test('GET /jobmanager/config: every effective key, derived memory values, secrets masked', async (t) => {
  const { jobManager, plan } = await buildTestJobManager(t.teardown.bind(t), {
    argv: ['--jobmanager.memory.process.size=512m', '-D', 'jobmanager.rpc.auth.token=s3cret-token'],
    env: { JOBMANAGER_CACHE_MEMORY_FRACTION: '0.25' },
  });
  const res = await jobManager.rest.inject('/jobmanager/config');
  t.equal(res.statusCode, 200);
  const entries = res.json() as { key: string; value: string }[];
  t.ok(Array.isArray(entries));
  for (const e of entries) t.same(Object.keys(e).sort(), ['key', 'value'], `Flink shape for ${e.key}`);
  const byKey = new Map(entries.map((e) => [e.key, e.value]));
  t.equal(new Set(entries.map((e) => e.key)).size, entries.length, 'each key once');

  for (const key of Object.values(MEMORY_KEYS)) t.ok(byKey.has(key), `memory key ${key} present`);
  t.equal(byKey.get(MEMORY_KEYS.process), '512m', 'configured value (alias given) under the canonical key');
  t.equal(byKey.get(MEMORY_KEYS.heap), `${plan.heapBytes / MiB}m`, 'derived heap');
  t.equal(byKey.get(MEMORY_KEYS.offHeap), `${plan.offHeapBytes / MiB}m`, 'derived off-heap');
  t.equal(byKey.get(MEMORY_KEYS.network), `${plan.networkBytes / MiB}m`, 'derived network');
  t.equal(byKey.get(MEMORY_KEYS.semiSpace), `${plan.semiSpaceBytes / MiB}m`, 'derived semi-space');
  t.equal(byKey.get(MEMORY_KEYS.cacheFraction), '0.25', 'from the environment');
  t.equal(byKey.get('rest.port'), '0');
  t.equal(byKey.get('rest.bind-address'), '127.0.0.1');
  t.equal(byKey.get('jobmanager.rpc.port'), '0', 'the test helper binds RPC to an ephemeral port');
  t.notOk(byKey.has('jobmanager.container.memory.limit'), 'no container limit: none shown');
  t.equal(byKey.get('jobmanager.rpc.auth.token'), '******', 'secret masked');
  t.notMatch(res.body, 's3cret-token');
  for (const spec of KEYS) {
    if (spec.defaultValue !== undefined) t.ok(byKey.has(spec.key), `default of ${spec.key} shown`);
  }
});

t.test('GET /jobmanager/memory: the plan and live figures', async (t) => {
  const cgroup = { ...NO_CGROUP, cgroupVersion: 2 as const, limitBytes: 256 * MiB, usageBytes: 100 * MiB, cgroupPath: '/sys/fs/cgroup/x' };
  const { jobManager, plan } = await buildTestJobManager(t.teardown.bind(t), { containerMemory: cgroup });
  const res = await jobManager.rest.inject('/jobmanager/memory');
  t.equal(res.statusCode, 200);
  const config = (await jobManager.rest.inject('/jobmanager/config')).json() as { key: string; value: string }[];
  t.same(config.find((e) => e.key === 'jobmanager.container.memory.limit'), { key: 'jobmanager.container.memory.limit', value: '256m' }, 'the cgroup limit in force is shown');
  t.same(config.find((e) => e.key === 'jobmanager.process.memory.size'), { key: 'jobmanager.process.memory.size', value: '256m' });
  const body = res.json();
  t.equal(body.plan.process, 256 * MiB, 'process size from the container limit');
  t.equal(body.plan.process, plan.processBytes);
  t.equal(body.plan.overhead + body.plan.offHeap + body.plan.heap, body.plan.process);
  t.same(body.plan.flags, plan.nodeFlags);
  t.equal(body.plan.containerLimit, 256 * MiB);
  t.equal(typeof body.plan.sources, 'object');
  t.equal(body.heapSizeLimit.actual, getHeapStatistics().heap_size_limit, "this (test) process's V8 limit");
  t.equal(body.heapSizeLimit.expected, plan.heapBytes, 'power-of-two semi-space: exactly the planned heap');
  t.type(body.v8.used_heap_size, 'number');
  t.ok(body.heapSpaces.some((s: { name: string }) => s.name === 'old_space'));
  t.ok(body.process.rss > 0);
  t.same(body.container, {
    cgroupVersion: 2,
    cgroupPath: '/sys/fs/cgroup/x',
    limitBytes: 256 * MiB,
    usageBytes: 100 * MiB,
    effectiveLimitBytes: 256 * MiB,
  });
});

t.test('probes follow the lifecycle', async (t) => {
  const { jobManager } = await buildTestJobManager(t.teardown.bind(t));
  t.equal((await jobManager.rest.inject('/healthz')).statusCode, 200, 'healthy before start');
  const starting = await jobManager.rest.inject('/readyz');
  t.equal(starting.statusCode, 503);
  t.same(starting.json(), { status: 'starting' });

  await jobManager.start({ listen: false });
  t.equal(jobManager.state, 'running');
  const ready = await jobManager.rest.inject('/readyz');
  t.equal(ready.statusCode, 200);
  t.same(ready.json(), { status: 'ready' });
  t.same((await jobManager.rest.inject('/healthz')).json(), { status: 'UP' });

  const closing = jobManager.close();
  t.equal(jobManager.state, 'stopping', 'not ready as soon as shutdown begins');
  await closing;
  t.equal(jobManager.state, 'stopped');
  await jobManager.close(); // idempotent
});

t.test('readyz answers 503 "shutting down" while stopping (the route alone)', async (t) => {
  const { config, plan } = await buildTestJobManager(t.teardown.bind(t));
  const app = Fastify();
  t.teardown(() => app.close());
  await app.register(jobManagerRest, {
    config,
    plan,
    planJson: {},
    expectedHeapSizeLimitBytes: plan.heapBytes,
    containerLimitBytes: undefined,
    readContainerMemory: () => NO_CGROUP,
    state: () => 'stopping',
  });
  const res = await app.inject('/readyz');
  t.equal(res.statusCode, 503);
  t.same(res.json(), { status: 'shutting down' });
});

t.test('unknown routes: 404 in Flink shape', async (t) => {
  const { jobManager } = await buildTestJobManager(t.teardown.bind(t));
  for (const url of ['/nope', '/jobmanager/nope?x=1', '/jobs/abc/unknown']) {
    const res = await jobManager.rest.inject(url);
    t.equal(res.statusCode, 404, url);
    t.same(res.json(), { errors: [`Not found: ${url.split('?')[0]}`] });
  }
  const post = await jobManager.rest.inject({ method: 'POST', url: '/jobmanager/config' });
  t.equal(post.statusCode, 404, 'wrong method is not found, as in Flink');
});

t.test('listening on rest.port=0 reports the bound address', async (t) => {
  const { jobManager } = await buildTestJobManager(t.teardown.bind(t));
  const addresses = await jobManager.start();
  t.match(addresses?.rest, /^http:\/\/127\.0\.0\.1:\d+$/);
  const port = Number(addresses?.rest.split(':')[2]);
  t.ok(port > 0, `bound port ${port}`);
  const res = await fetch(`${addresses?.rest}/healthz`);
  t.equal(res.status, 200);
});

t.test('a port in use is a configuration error (exit 78) naming rest.port', async (t) => {
  const first = await buildTestJobManager(t.teardown.bind(t));
  const addresses = await first.jobManager.start();
  const port = addresses?.rest.split(':')[2] ?? '';
  const second = await buildTestJobManager(t.teardown.bind(t), { argv: [`--rest.port=${port}`] });
  await t.rejects(second.jobManager.start(), { name: 'ConfigError', exitCode: 78, message: new RegExp(`rest\\.port ${port} \\(EADDRINUSE\\)`) });
});
