// The JobManager's RPC server in-process (fastify.inject): auth on every
// route, validation answers naming the field, size limit, and the happy paths
// against the real ResourceManager with a fake Dispatcher.
import t from 'tap';
import { ManualClock } from '../../../app/cluster/clock.js';
import { MAX_TASK_MANAGER_ID_LENGTH, ResourceManager } from '../../../app/cluster/resource-manager.js';
import { buildRpcServer } from '../../../app/http/rpc/server.js';
import { JM_PATHS, heartbeatPath } from '../../../app/http/rpc/protocol.js';
import type { TaskExecutionStateUpdate, TaskExecutionStateResult } from '../../../app/jobs/types.js';

const TOKEN = 'test-token-0123456789';

function setup(maxBodyBytes = 64 * 1024) {
  const clock = new ManualClock();
  const resourceManager = new ResourceManager(clock, { heartbeatIntervalMs: 200, heartbeatTimeoutMs: 1500 });
  const received: TaskExecutionStateUpdate[] = [];
  const dispatcher = {
    updateTaskExecutionStates(updates: readonly TaskExecutionStateUpdate[]): TaskExecutionStateResult[] {
      received.push(...updates);
      return updates.map((u) => (u.jobId === 'unknown' ? { applied: false, reason: 'unknown-job' } as const : { applied: true } as const));
    },
  };
  const app = buildRpcServer({ token: TOKEN, maxBodyBytes, resourceManager, dispatcher });
  return { app, clock, resourceManager, received };
}

const auth = { authorization: `Bearer ${TOKEN}` };
const registerBody = { taskManagerId: 'tm-1', rpcAddress: 'http://127.0.0.1:1', numberOfSlots: 2, resources: {} };

// Every TaskManager -> JobManager path of the protocol, plus an unknown one.
const ROUTES: [string, string][] = [
  ...Object.values(JM_PATHS).map((path): [string, string] => ['POST', path.replace(':taskManagerId', 'tm-1')]),
  ['GET', '/v1/nothing-here'],
];

t.test('every route answers 401 without a token and with a wrong one', async (t) => {
  const { app } = setup();
  for (const [method, url] of ROUTES) {
    const none = await app.inject({ method: method as 'POST', url, payload: method === 'POST' ? registerBody : undefined });
    t.equal(none.statusCode, 401, `${method} ${url} without token`);
    t.match(none.json(), { errors: [/missing Authorization header/] });
    t.match(none.headers['www-authenticate'], /^Bearer/);
    for (const header of [`Bearer ${TOKEN}x`, 'Bearer wrong', `Basic ${TOKEN}`, TOKEN, 'Bearer ']) {
      const wrong = await app.inject({ method: method as 'POST', url, headers: { authorization: header }, payload: method === 'POST' ? registerBody : undefined });
      t.equal(wrong.statusCode, 401, `${method} ${url} with "${header}"`);
      t.same(wrong.json(), { errors: ['invalid bearer token'] });
    }
  }
  await app.close();
});

t.test('register and heartbeat round trip; unknown TaskManager is told to re-register', async (t) => {
  const { app, resourceManager } = setup();
  const reg = await app.inject({ method: 'POST', url: JM_PATHS.register, headers: auth, payload: registerBody });
  t.equal(reg.statusCode, 200);
  const registration = reg.json();
  t.match(registration, { registrationId: /^[0-9a-f]{32}$/, heartbeatIntervalMs: 200, heartbeatTimeoutMs: 1500 });
  t.equal(resourceManager.slotTotals().slotsTotal, 2);

  const hb = await app.inject({
    method: 'POST', url: heartbeatPath('tm-1'), headers: auth,
    payload: { registrationId: registration.registrationId, slotReport: { slots: [{ slotIndex: 0 }, { slotIndex: 1 }] } },
  });
  t.equal(hb.statusCode, 200);
  t.same(hb.json(), { accepted: true });

  const unknown = await app.inject({
    method: 'POST', url: heartbeatPath('tm-other'), headers: auth,
    payload: { registrationId: registration.registrationId, slotReport: { slots: [] } },
  });
  t.same(unknown.json(), { accepted: false, reason: 'unknown-taskmanager' });
  await app.close();
});

t.test('task state batches reach the Dispatcher in order, stale ones are counted as ignored', async (t) => {
  const { app, received } = setup();
  const updates = [
    { jobId: 'a'.repeat(32), executionAttemptId: 'e1', state: 'INITIALIZING' },
    { jobId: 'a'.repeat(32), executionAttemptId: 'e1', state: 'RUNNING' },
    { jobId: 'unknown', executionAttemptId: 'e2', state: 'FAILED', failure: { class: 'X', message: 'boom' } },
  ];
  const res = await app.inject({ method: 'POST', url: JM_PATHS.taskStates, headers: auth, payload: { taskManagerId: 'tm-1', updates } });
  t.equal(res.statusCode, 200);
  t.same(res.json(), { accepted: 2, ignored: 1 });
  t.same(received, updates);
  await app.close();
});

t.test('checkpoint paths are reserved: 501 until the CheckpointCoordinator is wired', async (t) => {
  const { app } = setup();
  const res = await app.inject({
    method: 'POST', url: JM_PATHS.checkpointAcks, headers: auth,
    payload: { taskManagerId: 'tm-1', acks: [{ jobId: 'j', checkpointId: 1, executionAttemptId: 'e' }] },
  });
  t.equal(res.statusCode, 501);
  t.match(res.json(), { errors: [/not supported/] });
  await app.close();
});

t.test('bad bodies get 400/413/415 naming the field; nothing is registered', async (t) => {
  const { app, resourceManager } = setup(4096);
  const cases: { name: string; url: string; payload: string; contentType?: string; status: number; error: RegExp }[] = [
    { name: 'non-JSON', url: JM_PATHS.register, payload: '{"taskManagerId":', status: 400, error: /not valid JSON/ },
    { name: 'empty body', url: JM_PATHS.register, payload: '', status: 400, error: /empty/ },
    { name: 'wrong content type', url: JM_PATHS.register, payload: 'x', contentType: 'text/plain', status: 415, error: /application\/json/ },
    { name: 'missing field', url: JM_PATHS.register, payload: JSON.stringify({ ...registerBody, numberOfSlots: undefined }), status: 400, error: /body\.numberOfSlots is required/ },
    { name: 'zero slots', url: JM_PATHS.register, payload: JSON.stringify({ ...registerBody, numberOfSlots: 0 }), status: 400, error: /body\.numberOfSlots must be >= 1/ },
    { name: 'slots as string', url: JM_PATHS.register, payload: JSON.stringify({ ...registerBody, numberOfSlots: '2' }), status: 400, error: /body\.numberOfSlots must be of type integer/ },
    { name: 'unknown field', url: JM_PATHS.register, payload: JSON.stringify({ ...registerBody, colour: 'red' }), status: 400, error: /body\.colour is not an accepted field/ },
    { name: 'bad address', url: JM_PATHS.register, payload: JSON.stringify({ ...registerBody, rpcAddress: 'ftp://example.org' }), status: 400, error: /body\.rpcAddress must match/ },
    { name: 'bad id', url: JM_PATHS.register, payload: JSON.stringify({ ...registerBody, taskManagerId: 'a b' }), status: 400, error: /body\.taskManagerId must match/ },
    { name: 'over-long id', url: JM_PATHS.register, payload: JSON.stringify({ ...registerBody, taskManagerId: 'a'.repeat(MAX_TASK_MANAGER_ID_LENGTH + 1) }), status: 400, error: /body\.taskManagerId must NOT have more than 256 characters/ },
    { name: 'bad state', url: JM_PATHS.taskStates, payload: JSON.stringify({ taskManagerId: 't', updates: [{ jobId: 'j', executionAttemptId: 'e', state: 'DANCING' }] }), status: 400, error: /body\.updates\.0\.state must be one of/ },
    { name: 'oversized', url: JM_PATHS.register, payload: JSON.stringify({ ...registerBody, pad: 'x'.repeat(5000) }), status: 413, error: /larger than 4096 bytes.*jobmanager\.rpc\.max-body-size/ },
  ];
  for (const c of cases) {
    const res = await app.inject({
      method: 'POST', url: c.url, payload: c.payload,
      headers: { ...auth, 'content-type': c.contentType ?? 'application/json' },
    });
    t.equal(res.statusCode, c.status, `${c.name}: status`);
    t.match(res.json(), { errors: [c.error] }, `${c.name}: message`);
  }
  const twoErrors = await app.inject({ method: 'POST', url: JM_PATHS.register, headers: auth, payload: { taskManagerId: 'x', rpcAddress: 'http://a:1', numberOfSlots: -1 } });
  t.equal(twoErrors.json().errors.length, 2, 'all errors reported at once (missing resources, bad slots)');
  t.equal(resourceManager.slotTotals().taskManagers, 0);
  await app.close();
});

t.test('unknown path: 404 naming the port and protocol', async (t) => {
  const { app } = setup();
  const res = await app.inject({ method: 'GET', url: '/v2/anything', headers: auth });
  t.equal(res.statusCode, 404);
  t.match(res.json(), { errors: [/no RPC route GET \/v2\/anything.*v1/] });
  await app.close();
});

t.test('with the network buffer pool: bodies read into segments; bulk gets 503 + Retry-After when exhausted, heartbeats still pass', async (t) => {
  const { NetworkBufferPool } = await import('../../../app/memory/buffer-pool.js');
  const clock = new ManualClock();
  const resourceManager = new ResourceManager(clock, { heartbeatIntervalMs: 200, heartbeatTimeoutMs: 1500 });
  // Ref'd timers: the pool's own are unref'd, and inject() holds no socket that would keep the test alive.
  const timers = { setTimeout: (fn: () => void, ms: number) => setTimeout(fn, ms), clearTimeout: (h: unknown) => clearTimeout(h as NodeJS.Timeout) };
  const pool = new NetworkBufferPool({ totalBytes: 16 * 1024, segmentBytes: 1024, reservedSegments: 4, maxWaitMs: 20, timers });
  const dispatcher = { updateTaskExecutionStates: (u: readonly TaskExecutionStateUpdate[]) => u.map(() => ({ applied: true }) as const) };
  const app = buildRpcServer({ token: TOKEN, maxBodyBytes: 8 * 1024, resourceManager, dispatcher, networkBuffers: pool });
  t.teardown(() => app.close());

  const reg = await app.inject({ method: 'POST', url: JM_PATHS.register, headers: auth, payload: registerBody });
  t.equal(reg.statusCode, 200, 'register through the pool');
  const { registrationId } = reg.json();
  const states = { taskManagerId: 'tm-1', updates: [{ jobId: 'j', executionAttemptId: 'e', state: 'RUNNING' }] };
  t.equal((await app.inject({ method: 'POST', url: JM_PATHS.taskStates, headers: auth, payload: states })).statusCode, 200);
  t.equal(pool.stats().segmentsInUse, 0, 'segments released after parsing');

  const bad = await app.inject({ method: 'POST', url: JM_PATHS.register, headers: { ...auth, 'content-type': 'application/json' }, payload: '{"x":' });
  t.equal(bad.statusCode, 400);
  t.match(bad.json(), { errors: [/not valid JSON/] });
  const big = await app.inject({ method: 'POST', url: JM_PATHS.taskStates, headers: { ...auth, 'content-type': 'application/json' }, payload: JSON.stringify({ ...states, pad: 'x'.repeat(9000) }) });
  t.equal(big.statusCode, 413);
  t.match(big.json(), { errors: [/jobmanager\.rpc\.max-body-size/] });

  // Hold every non-reserved segment, as a burst of bulk traffic would.
  const held = await pool.acquire(pool.totalSegments - pool.reservedSegments, 'bulk');
  const refused = await app.inject({ method: 'POST', url: JM_PATHS.taskStates, headers: auth, payload: states });
  t.equal(refused.statusCode, 503, 'bulk refused');
  t.match(refused.headers['retry-after'], /^\d+$/);
  t.ok(refused.json().errors.length > 0);
  const hb = await app.inject({ method: 'POST', url: heartbeatPath('tm-1'), headers: auth, payload: { registrationId, slotReport: { slots: [{ slotIndex: 0 }] } } });
  t.equal(hb.statusCode, 200, 'heartbeats use the reserve');
  t.same(hb.json(), { accepted: true });
  held.release();
  t.equal((await app.inject({ method: 'POST', url: JM_PATHS.taskStates, headers: auth, payload: states })).statusCode, 200, 'bulk flows again');
});
