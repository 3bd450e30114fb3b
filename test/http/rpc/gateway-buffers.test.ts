// Outgoing batches built in the network buffer pool: the TaskManager receives
// exactly the JSON, retries resend the same bytes, segments are released after
// the call, and an exhausted pool refuses bulk batches while checkpoint
// triggers still go out from the reserved share.
import t from 'tap';
import Fastify from 'fastify';
import { HttpTaskExecutorGateway } from '../../../app/http/rpc/gateway.js';
import { NetworkBufferPool } from '../../../app/memory/buffer-pool.js';

async function scriptedTaskManager(statuses: number[]) {
  const app = Fastify({ bodyLimit: 64 * 1024 * 1024 });
  const seen: { url: string; body: unknown; length: string | undefined }[] = [];
  app.post('/v1/taskmanagers/:id/*', async (request, reply) => {
    seen.push({ url: request.url, body: request.body, length: request.headers['content-length'] });
    const status = statuses.shift() ?? 200;
    if (status === 503) reply.header('retry-after', '0');
    return reply.code(status).send(status === 200 ? { accepted: 1, duplicates: 0, canceled: 1, unknown: 0 } : { errors: [`scripted ${status}`] });
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  return { app, seen, url: `http://127.0.0.1:${address.port}` };
}

const descriptor = (i: number) => ({
  jobId: 'a'.repeat(32),
  jobVertexId: 'b'.repeat(32),
  vertexName: `vertex-ü-${i}`,
  subtaskIndex: i,
  parallelism: 500,
  maxParallelism: 512,
  attemptNumber: 0,
  executionAttemptId: i.toString(16).padStart(32, '0'),
  allocationId: 'c'.repeat(32),
  slotIndex: i,
  config: { 'sim.finish-after-ms': '1000' },
  inputs: [],
});

t.test('a deploy batch is sent from pool segments, identical across a retry, and released', async (t) => {
  const pool = new NetworkBufferPool({ totalBytes: 256 * 4096, segmentBytes: 4096, reservedSegments: 8 });
  const tm = await scriptedTaskManager([503]);
  const gateway = new HttpTaskExecutorGateway({ token: 'tok', rpcAddressOf: () => tm.url, retryMinDelayMs: 1, networkBuffers: pool });
  t.teardown(async () => {
    await gateway.close();
    await tm.app.close();
  });
  const descriptors = Array.from({ length: 500 }, (_, i) => descriptor(i));
  await gateway.deployTasks('tm-a', descriptors);
  t.equal(tm.seen.length, 2, 'retried once after 503');
  t.same(tm.seen[0]!.body, { descriptors });
  t.same(tm.seen[1]!.body, { descriptors }, 'the retry sent the same bytes');
  t.equal(tm.seen[0]!.length, String(Buffer.byteLength(JSON.stringify({ descriptors }))), 'content-length of the segmented body');
  t.ok(pool.stats().acquisitions >= 1);
  t.equal(pool.stats().segmentsInUse, 0, 'segments released after the call');
});

t.test('an exhausted pool refuses a bulk batch; a checkpoint trigger uses the reserve', async (t) => {
  const pool = new NetworkBufferPool({ totalBytes: 32 * 4096, segmentBytes: 4096, reservedSegments: 4, maxWaitMs: 20 });
  const tm = await scriptedTaskManager([]);
  const gateway = new HttpTaskExecutorGateway({ token: 'tok', rpcAddressOf: () => tm.url, retryMinDelayMs: 1, networkBuffers: pool });
  const keepAlive = setInterval(() => {}, 1000); // pool wait timers are unref'd
  t.teardown(async () => {
    clearInterval(keepAlive);
    await gateway.close();
    await tm.app.close();
  });
  const hog = pool.tryAcquire(28, 'bulk')!;
  await t.rejects(gateway.cancelTasks('tm-a', ['e1']), { name: 'TaskExecutorGatewayError', message: /not sent: network buffer pool exhausted/ });
  await gateway.triggerCheckpoint('tm-a', { jobId: 'a'.repeat(32), checkpointId: 7, timestamp: 1, executionAttemptIds: ['e1', 'e2'] });
  t.same(tm.seen.at(-1)?.body, { jobId: 'a'.repeat(32), checkpointId: 7, timestamp: 1, executionAttemptIds: ['e1', 'e2'] });
  hog.release();
  t.equal(pool.stats().segmentsInUse, 0);
});
