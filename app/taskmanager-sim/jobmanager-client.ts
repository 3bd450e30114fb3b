// The simulator's side of TaskManager -> JobManager RPC: one keep-alive undici
// Pool per simulator process, shared by its TaskManagers (each still sends its
// own identity in every call). No retries here: the TaskManager loop decides
// (heartbeats are periodic anyway; state reports are re-queued).
import { Pool } from 'undici';
import {
  JM_PATHS,
  heartbeatPath,
  rpcErrorDetail,
  type CheckpointAck,
  type CheckpointAcksRequest,
  type CheckpointDecline,
  type CheckpointDeclinesRequest,
  type HeartbeatRequest,
  type HeartbeatResponse,
  type RegisterRequest,
  type RegisterResponse,
  type TaskStateUpdate,
  type TaskStatesResponse,
} from '../http/rpc/protocol.js';

export class JobManagerRpcError extends Error {
  /** undefined = the JobManager did not answer (network error, timeout). */
  readonly statusCode: number | undefined;
  /** The JobManager's Retry-After (503: network buffers exhausted, shutting down), in ms. */
  readonly retryAfterMs: number | undefined;
  constructor(message: string, statusCode?: number, options?: { cause?: unknown; retryAfterMs?: number | undefined }) {
    super(message, options);
    this.name = 'JobManagerRpcError';
    this.statusCode = statusCode;
    this.retryAfterMs = options?.retryAfterMs;
  }
}

export interface JobManagerClientOptions {
  /** e.g. http://127.0.0.1:6123 */
  url: string;
  token: string;
  connections?: number;
  requestTimeoutMs?: number;
}

export class JobManagerClient {
  private readonly pool: Pool;
  private readonly authorization: string;
  private readonly requestTimeoutMs: number;

  constructor(options: JobManagerClientOptions) {
    const url = new URL(options.url);
    this.authorization = `Bearer ${options.token}`;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    this.pool = new Pool(url.origin, {
      connections: options.connections ?? 4,
      pipelining: 1,
      keepAliveTimeout: 30_000,
      connect: { timeout: Math.min(this.requestTimeoutMs, 5_000) },
      headersTimeout: this.requestTimeoutMs,
      bodyTimeout: this.requestTimeoutMs,
    });
  }

  register(request: RegisterRequest, timeoutMs?: number): Promise<RegisterResponse> {
    return this.post<RegisterResponse>(JM_PATHS.register, request, timeoutMs);
  }

  heartbeat(taskManagerId: string, request: HeartbeatRequest, timeoutMs?: number): Promise<HeartbeatResponse> {
    return this.post<HeartbeatResponse>(heartbeatPath(taskManagerId), request, timeoutMs);
  }

  reportTaskStates(taskManagerId: string, updates: TaskStateUpdate[]): Promise<TaskStatesResponse> {
    return this.post<TaskStatesResponse>(JM_PATHS.taskStates, { taskManagerId, updates });
  }

  acknowledgeCheckpoints(taskManagerId: string, acks: CheckpointAck[]): Promise<{ accepted: number; ignored: number }> {
    return this.post(JM_PATHS.checkpointAcks, { taskManagerId, acks } satisfies CheckpointAcksRequest);
  }

  declineCheckpoints(taskManagerId: string, declines: CheckpointDecline[]): Promise<{ accepted: number; ignored: number }> {
    return this.post(JM_PATHS.checkpointDeclines, { taskManagerId, declines } satisfies CheckpointDeclinesRequest);
  }

  async close(): Promise<void> {
    await this.pool.destroy().catch(() => undefined);
  }

  private async post<T>(path: string, body: unknown, timeoutMs?: number): Promise<T> {
    let statusCode: number;
    let text: string;
    let retryAfter: string | string[] | undefined;
    try {
      const response = await this.pool.request({
        method: 'POST',
        path,
        headers: { authorization: this.authorization, 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs ?? this.requestTimeoutMs),
      });
      statusCode = response.statusCode;
      retryAfter = response.headers['retry-after'];
      text = await response.body.text();
    } catch (err) {
      throw new JobManagerRpcError(`JobManager unreachable (${path}): ${(err as Error).message}`, undefined, { cause: err });
    }
    if (statusCode < 200 || statusCode >= 300) {
      const detail = rpcErrorDetail(text);
      const seconds = typeof retryAfter === 'string' && /^\d+$/.test(retryAfter) ? Number(retryAfter) : undefined;
      throw new JobManagerRpcError(`JobManager answered ${statusCode} to ${path}: ${detail}`, statusCode, {
        retryAfterMs: seconds === undefined ? undefined : seconds * 1000,
      });
    }
    return JSON.parse(text) as T;
  }
}
