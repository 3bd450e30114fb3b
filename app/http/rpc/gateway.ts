// JobManager -> TaskManager calls over undici: one keep-alive Pool per
// TaskManager, bounded timeouts, retries only for calls the TaskManager treats
// idempotently (cancel always; deploy because TaskManagers deduplicate by
// executionAttemptId - see docs/rpc.md). Implements the scheduler's outbound
// port, so the domain core never sees HTTP.
import { Pool, interceptors, type Dispatcher } from 'undici';
import {
  rpcErrorDetail,
  tmPath,
  type CancelRequest,
  type CancelResponse,
  type DeployRequest,
  type DeployResponse,
  type RpcTaskDeploymentDescriptor,
} from './protocol.js';
import type { ConfirmCheckpointBody, ConfirmCheckpointResponse, TriggerCheckpointBody, TriggerCheckpointResponse } from './checkpoints.js';
import type { NetworkBufferPool, TrafficClass } from '../../memory/buffer-pool.js';
import { encodeJsonIntoSegments, type SegmentedBytes } from '../../memory/segments.js';

export class TaskExecutorGatewayError extends Error {
  readonly taskManagerId: string;
  /** HTTP status when the TaskManager answered, undefined for network errors. */
  readonly statusCode: number | undefined;
  constructor(taskManagerId: string, message: string, statusCode?: number, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TaskExecutorGatewayError';
    this.taskManagerId = taskManagerId;
    this.statusCode = statusCode;
  }
}

export interface GatewayOptions {
  token: string;
  /** The TaskManager's registered RPC base URL, or undefined when it is not registered. */
  rpcAddressOf: (taskManagerId: string) => string | undefined;
  connectTimeoutMs?: number;
  headersTimeoutMs?: number;
  bodyTimeoutMs?: number;
  /** Retries after the first attempt, for network errors and 502/503/504/429. */
  maxRetries?: number;
  retryMinDelayMs?: number;
  retryMaxDelayMs?: number;
  connectionsPerTaskManager?: number;
  /** Largest number of descriptors/ids in one request; bigger batches are split. */
  maxBatch?: number;
  /**
   * The network buffer pool: when given, every outgoing batch is encoded into
   * its segments and holds them until the call (retries included) is over, so
   * bytes in flight to TaskManagers stay within the plan's network memory.
   * Deploy/cancel are bulk; checkpoint trigger/confirm use the reserved share.
   */
  networkBuffers?: NetworkBufferPool | undefined;
}

interface PoolEntry {
  origin: string;
  pool: Pool;
  dispatcher: Dispatcher;
}

const RETRIED_ERROR_CODES = [
  'ECONNRESET', 'ECONNREFUSED', 'ENOTFOUND', 'ENETDOWN', 'ENETUNREACH', 'EHOSTDOWN', 'EHOSTUNREACH', 'EPIPE',
  'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT',
];

export class HttpTaskExecutorGateway {
  private readonly pools = new Map<string, PoolEntry>();
  private readonly options: Required<Omit<GatewayOptions, 'token' | 'rpcAddressOf' | 'networkBuffers'>>;
  private readonly authorization: string;
  private closed = false;

  constructor(private readonly config: GatewayOptions) {
    this.authorization = `Bearer ${config.token}`;
    this.options = {
      connectTimeoutMs: config.connectTimeoutMs ?? 5_000,
      headersTimeoutMs: config.headersTimeoutMs ?? 30_000,
      bodyTimeoutMs: config.bodyTimeoutMs ?? 30_000,
      maxRetries: config.maxRetries ?? 3,
      retryMinDelayMs: config.retryMinDelayMs ?? 100,
      retryMaxDelayMs: config.retryMaxDelayMs ?? 2_000,
      connectionsPerTaskManager: config.connectionsPerTaskManager ?? 4,
      maxBatch: config.maxBatch ?? 2_000,
    };
  }

  async deployTasks(taskManagerId: string, descriptors: readonly RpcTaskDeploymentDescriptor[]): Promise<void> {
    for (const batch of this.batches(descriptors)) {
      await this.post<DeployResponse>(taskManagerId, tmPath('deploy', taskManagerId), { descriptors: batch } satisfies DeployRequest);
    }
  }

  async cancelTasks(taskManagerId: string, executionAttemptIds: readonly string[]): Promise<void> {
    for (const batch of this.batches(executionAttemptIds)) {
      await this.post<CancelResponse>(taskManagerId, tmPath('cancel', taskManagerId), { executionAttemptIds: batch } satisfies CancelRequest);
    }
  }

  // Checkpoints (issue 4): one call per TaskManager, split like deploy/cancel.
  // Both are idempotent on the TaskManager (a repeated trigger re-acks; the
  // JobManager ignores duplicate acks), so the retry interceptor applies.
  async triggerCheckpoint(taskManagerId: string, request: TriggerCheckpointBody): Promise<void> {
    for (const batch of this.batches(request.executionAttemptIds)) {
      const body: TriggerCheckpointBody = { ...request, executionAttemptIds: batch };
      await this.post<TriggerCheckpointResponse>(taskManagerId, tmPath('triggerCheckpoint', taskManagerId), body, 'priority');
    }
  }

  async notifyCheckpointComplete(taskManagerId: string, request: ConfirmCheckpointBody): Promise<void> {
    for (const batch of this.batches(request.executionAttemptIds)) {
      const body: ConfirmCheckpointBody = { ...request, executionAttemptIds: batch };
      await this.post<ConfirmCheckpointResponse>(taskManagerId, tmPath('confirmCheckpoint', taskManagerId), body, 'priority');
    }
  }

  /** Closes the pool of a TaskManager that was lost or unregistered. */
  async releaseTaskManager(taskManagerId: string): Promise<void> {
    const entry = this.pools.get(taskManagerId);
    if (entry === undefined) return;
    this.pools.delete(taskManagerId);
    // destroy, not close: a lost TaskManager will not answer in-flight calls.
    await entry.pool.destroy().catch(() => undefined);
  }

  /** Pools currently open (one per TaskManager called since it registered). */
  get openPools(): number {
    return this.pools.size;
  }

  async close(): Promise<void> {
    this.closed = true;
    const entries = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(entries.map((e) => e.pool.close().catch(() => e.pool.destroy().catch(() => undefined))));
  }

  /** Consecutive slices of at most maxBatch items, so no single request body grows with the job. */
  private *batches<T>(items: readonly T[]): Generator<T[]> {
    for (let start = 0; start < items.length; start += this.options.maxBatch) yield items.slice(start, start + this.options.maxBatch);
  }

  private poolFor(taskManagerId: string): PoolEntry {
    if (this.closed) throw new TaskExecutorGatewayError(taskManagerId, 'the TaskManager gateway is closed (JobManager shutting down)');
    const address = this.config.rpcAddressOf(taskManagerId);
    if (address === undefined) {
      throw new TaskExecutorGatewayError(taskManagerId, `TaskManager ${taskManagerId} is not registered`);
    }
    const origin = new URL(address).origin;
    const existing = this.pools.get(taskManagerId);
    if (existing !== undefined && existing.origin === origin) return existing;
    if (existing !== undefined) {
      // Re-registered under a new address: the old connections lead nowhere.
      void existing.pool.destroy().catch(() => undefined);
    }
    const pool = new Pool(origin, {
      connections: this.options.connectionsPerTaskManager,
      pipelining: 1,
      keepAliveTimeout: 30_000,
      keepAliveMaxTimeout: 60_000,
      connect: { timeout: this.options.connectTimeoutMs },
      headersTimeout: this.options.headersTimeoutMs,
      bodyTimeout: this.options.bodyTimeoutMs,
    });
    const dispatcher = pool.compose(
      interceptors.retry({
        maxRetries: this.options.maxRetries,
        minTimeout: this.options.retryMinDelayMs,
        maxTimeout: this.options.retryMaxDelayMs,
        timeoutFactor: 2,
        retryAfter: true,
        // Only our own POSTs go through this dispatcher, and each of them is
        // idempotent on the TaskManager side.
        methods: ['POST'],
        statusCodes: [429, 502, 503, 504],
        errorCodes: RETRIED_ERROR_CODES,
      }),
    );
    const entry: PoolEntry = { origin, pool, dispatcher };
    this.pools.set(taskManagerId, entry);
    return entry;
  }

  private async post<T>(taskManagerId: string, path: string, body: unknown, trafficClass: TrafficClass = 'bulk'): Promise<T> {
    const pool = this.config.networkBuffers;
    if (pool === undefined) return this.send<T>(taskManagerId, path, JSON.stringify(body), undefined);
    let segmented: SegmentedBytes;
    try {
      segmented = await encodeJsonIntoSegments(body, pool, trafficClass);
    } catch (err) {
      throw new TaskExecutorGatewayError(taskManagerId, `RPC ${path} to TaskManager ${taskManagerId} not sent: ${(err as Error).message}`, undefined, { cause: err });
    }
    try {
      // An array of segment views: undici re-iterates it on a retry.
      return await this.send<T>(taskManagerId, path, segmented.chunks(), segmented.byteLength);
    } finally {
      segmented.release();
    }
  }

  private async send<T>(taskManagerId: string, path: string, body: string | Buffer[], contentLength: number | undefined): Promise<T> {
    const { dispatcher } = this.poolFor(taskManagerId);
    let response: Dispatcher.ResponseData;
    try {
      response = await dispatcher.request({
        method: 'POST',
        path,
        headers: {
          authorization: this.authorization,
          'content-type': 'application/json',
          ...(contentLength !== undefined ? { 'content-length': String(contentLength) } : {}),
        },
        // undici sends any iterable of Uint8Array (lib/core/request.js isIterable) and
        // re-iterates an array on retry; its .d.ts lists only string/Buffer/stream bodies.
        body: body as string,
      });
    } catch (err) {
      const status = (err as { statusCode?: unknown }).statusCode;
      throw new TaskExecutorGatewayError(
        taskManagerId,
        `RPC ${path} to TaskManager ${taskManagerId} failed: ${(err as Error).message}`,
        typeof status === 'number' ? status : undefined,
        { cause: err },
      );
    }
    const text = await response.body.text();
    if (response.statusCode < 200 || response.statusCode >= 300) {
      throw new TaskExecutorGatewayError(
        taskManagerId,
        `RPC ${path} to TaskManager ${taskManagerId} answered ${response.statusCode}: ${rpcErrorDetail(text)}`,
        response.statusCode,
      );
    }
    return (text.length > 0 ? JSON.parse(text) : {}) as T;
  }
}
