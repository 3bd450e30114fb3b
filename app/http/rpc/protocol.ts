// The TaskManager <-> JobManager RPC protocol: paths, message bodies and their
// JSON schemas. Shared by the JobManager's RPC server, its undici gateway and
// the TaskManager simulator, so both ends compile against one definition.
// docs/rpc.md is the prose version of this file; keep them in step.
// No Fastify or undici import here: plain types and plain JSON Schema objects
// (and the domain's limits they share).

// The message types are the domain's own contract (app/cluster/types.ts,
// app/jobs/types.ts) under their wire names: the RPC adds no translation layer.
import type {
  HeartbeatResponse as DomainHeartbeatResponse,
  RegisterTaskManagerRequest,
  RegistrationResponse,
  SlotReport as DomainSlotReport,
  SlotStatus,
  TaskManagerHardware as DomainHardware,
  TaskManagerResources as DomainResources,
} from '../../cluster/types.js';
import type {
  ExecutionState,
  TaskDeploymentDescriptor,
  TaskExecutionStateUpdate,
  TaskFailureInfo,
} from '../../jobs/types.js';
import type { WireCheckpointAck, WireCheckpointDecline } from '../../checkpoints/service.js';
import { MAX_SLOTS_PER_TASK_MANAGER, MAX_TASK_MANAGER_ID_LENGTH, TASK_MANAGER_ID_PATTERN } from '../../cluster/resource-manager.js';

export const RPC_VERSION = 'v1';
export const RPC_PREFIX = `/${RPC_VERSION}`;

/** TaskManager -> JobManager paths (served on jobmanager.rpc.port). */
export const JM_PATHS = {
  register: `${RPC_PREFIX}/taskmanagers/register`,
  heartbeat: `${RPC_PREFIX}/taskmanagers/:taskManagerId/heartbeat`,
  taskStates: `${RPC_PREFIX}/tasks/states`,
  checkpointAcks: `${RPC_PREFIX}/checkpoints/acknowledgements`,
  checkpointDeclines: `${RPC_PREFIX}/checkpoints/declines`,
} as const;

export const heartbeatPath = (taskManagerId: string): string =>
  `${RPC_PREFIX}/taskmanagers/${encodeURIComponent(taskManagerId)}/heartbeat`;

/** JobManager -> TaskManager paths (served at the TaskManager's rpcAddress). */
export const TM_PATHS = {
  deploy: `${RPC_PREFIX}/taskmanagers/:taskManagerId/tasks/deploy`,
  cancel: `${RPC_PREFIX}/taskmanagers/:taskManagerId/tasks/cancel`,
  triggerCheckpoint: `${RPC_PREFIX}/taskmanagers/:taskManagerId/checkpoints/trigger`,
  confirmCheckpoint: `${RPC_PREFIX}/taskmanagers/:taskManagerId/checkpoints/confirm`,
} as const;

export const tmPath = (
  kind: keyof typeof TM_PATHS,
  taskManagerId: string,
): string => TM_PATHS[kind].replace(':taskManagerId', encodeURIComponent(taskManagerId));

// ---------------------------------------------------------------------------
// Message bodies

export type TaskManagerResources = DomainResources;
export type TaskManagerHardware = Partial<DomainHardware>;
export type RegisterRequest = RegisterTaskManagerRequest;
export type RegisterResponse = RegistrationResponse;

export type SlotReportEntry = SlotStatus;
export type SlotReport = DomainSlotReport;

export interface HeartbeatRequest {
  registrationId: string;
  slotReport: SlotReport;
}

export type HeartbeatResponse = DomainHeartbeatResponse;

/** A task's state on the wire: Flink's ExecutionState (RECONCILING is only ever a REST count). */
export type TaskState = Exclude<ExecutionState, 'RECONCILING'>;

/** States a TaskManager may report (the others are the JobManager's own). */
export const REPORTABLE_TASK_STATES = [
  'INITIALIZING',
  'RUNNING',
  'FINISHED',
  'CANCELED',
  'FAILED',
] as const satisfies readonly TaskExecutionStateUpdate['state'][];

export type TaskFailure = TaskFailureInfo;
export type TaskStateUpdate = TaskExecutionStateUpdate;

export interface TaskStatesRequest {
  taskManagerId: string;
  updates: readonly TaskStateUpdate[];
}

export interface TaskStatesResponse {
  /** Updates applied. */
  accepted: number;
  /** Updates for unknown/stale attempts: ignored, not an error (late reports after a restart). */
  ignored: number;
}

/** What a TaskManager needs to run one subtask. */
export type RpcTaskDeploymentDescriptor = TaskDeploymentDescriptor;

export interface DeployRequest {
  descriptors: readonly RpcTaskDeploymentDescriptor[];
}

export interface DeployResponse {
  /** Newly started attempts. */
  accepted: number;
  /** Attempts already known (a retried deploy): not started twice. */
  duplicates: number;
}

export interface CancelRequest {
  executionAttemptIds: readonly string[];
}

export interface CancelResponse {
  /** Attempts that were running and are now canceling. */
  canceled: number;
  /** Attempts not known (already gone): cancel is idempotent. */
  unknown: number;
}

/** Checkpoint acknowledgements and declines, batched per TaskManager. */
export type CheckpointAck = WireCheckpointAck;
export type CheckpointDecline = WireCheckpointDecline;
export interface CheckpointAcksRequest {
  taskManagerId: string;
  acks: CheckpointAck[];
}
export interface CheckpointDeclinesRequest {
  taskManagerId: string;
  declines: CheckpointDecline[];
}

/** Every non-2xx answer of both RPC servers. */
export interface RpcErrorBody {
  errors: string[];
}

/** The readable part of a non-2xx answer, for the caller's error: its `errors` joined, else the start of the raw text. */
export function rpcErrorDetail(text: string): string {
  try {
    const parsed = JSON.parse(text) as Partial<RpcErrorBody>;
    if (Array.isArray(parsed.errors)) return parsed.errors.map(String).join('; ');
  } catch {
    // not JSON (or not an object): the raw text below
  }
  return text.slice(0, 500);
}

// ---------------------------------------------------------------------------
// JSON Schemas (draft-07, as Fastify's ajv). Limits keep a hostile or broken
// peer from making the JobManager hold unbounded state.

export const MAX_ID_LENGTH = 256;
/** The ResourceManager's own bound, so the schema and the domain refuse the same registrations. */
export const MAX_SLOTS_PER_TASKMANAGER = MAX_SLOTS_PER_TASK_MANAGER;
export const MAX_BATCH = 100_000;
/** Longest state handle a TaskManager may acknowledge (it is kept in the checkpoint metadata). */
export const MAX_STATE_HANDLE_LENGTH = 4096;

const idString = { type: 'string', minLength: 1, maxLength: MAX_ID_LENGTH } as const;
const nonNegInt = { type: 'integer', minimum: 0 } as const;
/** The ResourceManager's own bounds for a TaskManager id. */
const taskManagerIdString = { type: 'string', minLength: 1, maxLength: MAX_TASK_MANAGER_ID_LENGTH, pattern: TASK_MANAGER_ID_PATTERN } as const;

export const registerRequestSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['taskManagerId', 'rpcAddress', 'numberOfSlots', 'resources'],
  properties: {
    taskManagerId: taskManagerIdString,
    rpcAddress: { type: 'string', minLength: 8, maxLength: 2048, pattern: '^https?://' },
    dataPort: { type: 'integer', minimum: 0, maximum: 65535 },
    numberOfSlots: { type: 'integer', minimum: 1, maximum: MAX_SLOTS_PER_TASKMANAGER },
    resources: {
      type: 'object',
      additionalProperties: false,
      properties: {
        cpuCores: { type: 'number', minimum: 0 },
        memoryBytes: nonNegInt,
      },
    },
    hardware: {
      type: 'object',
      additionalProperties: false,
      properties: {
        cpuCores: { type: 'number', minimum: 0 },
        physicalMemory: nonNegInt,
        freeMemory: nonNegInt,
        managedMemory: nonNegInt,
      },
    },
  },
} as const;

export const heartbeatParamsSchema = {
  type: 'object',
  required: ['taskManagerId'],
  properties: { taskManagerId: idString },
} as const;

export const heartbeatRequestSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['registrationId', 'slotReport'],
  properties: {
    registrationId: idString,
    slotReport: {
      type: 'object',
      additionalProperties: false,
      required: ['slots'],
      properties: {
        slots: {
          type: 'array',
          maxItems: MAX_SLOTS_PER_TASKMANAGER,
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['slotIndex'],
            properties: {
              slotIndex: nonNegInt,
              allocationId: idString,
              jobId: idString,
            },
          },
        },
      },
    },
  },
} as const;

const taskFailureSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['message'],
  properties: {
    class: { type: 'string', maxLength: 1024 },
    message: { type: 'string', maxLength: 65536 },
    stack: { type: 'string', maxLength: 1048576 },
  },
} as const;

export const taskStatesRequestSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['taskManagerId', 'updates'],
  properties: {
    taskManagerId: idString,
    updates: {
      type: 'array',
      maxItems: MAX_BATCH,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['jobId', 'executionAttemptId', 'state'],
        properties: {
          jobId: idString,
          executionAttemptId: idString,
          state: { type: 'string', enum: [...REPORTABLE_TASK_STATES] },
          failure: taskFailureSchema,
        },
      },
    },
  },
} as const;

export const checkpointAcksRequestSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['taskManagerId', 'acks'],
  properties: {
    taskManagerId: idString,
    acks: {
      type: 'array',
      maxItems: MAX_BATCH,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['jobId', 'checkpointId', 'executionAttemptId'],
        properties: {
          jobId: idString,
          checkpointId: nonNegInt,
          executionAttemptId: idString,
          stateSizeBytes: nonNegInt,
          stateHandle: { type: 'string', maxLength: MAX_STATE_HANDLE_LENGTH },
          metadata: { type: 'object', additionalProperties: { type: 'string' } },
        },
      },
    },
  },
} as const;

export const checkpointDeclinesRequestSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['taskManagerId', 'declines'],
  properties: {
    taskManagerId: idString,
    declines: {
      type: 'array',
      maxItems: MAX_BATCH,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['jobId', 'checkpointId', 'executionAttemptId', 'reason'],
        properties: {
          jobId: idString,
          checkpointId: nonNegInt,
          executionAttemptId: idString,
          reason: { type: 'string', maxLength: 65536 },
        },
      },
    },
  },
} as const;

export const deployRequestSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['descriptors'],
  properties: {
    descriptors: {
      type: 'array',
      maxItems: MAX_BATCH,
      items: {
        type: 'object',
        additionalProperties: true,
        required: ['jobId', 'jobVertexId', 'executionAttemptId', 'subtaskIndex', 'attemptNumber', 'slotIndex'],
        properties: {
          jobId: idString,
          jobVertexId: idString,
          vertexName: { type: 'string' },
          executionAttemptId: idString,
          subtaskIndex: nonNegInt,
          parallelism: { type: 'integer', minimum: 1 },
          maxParallelism: { type: 'integer', minimum: 1 },
          attemptNumber: nonNegInt,
          slotIndex: nonNegInt,
          allocationId: idString,
          config: { type: 'object', additionalProperties: { type: 'string' } },
          inputs: { type: 'array' },
          restoreCheckpoint: { type: 'object' },
        },
      },
    },
  },
} as const;

export const cancelRequestSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['executionAttemptIds'],
  properties: {
    executionAttemptIds: { type: 'array', maxItems: MAX_BATCH, items: idString },
  },
} as const;

export const tmParamsSchema = heartbeatParamsSchema;
