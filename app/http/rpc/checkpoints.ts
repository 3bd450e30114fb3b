// Checkpoint messages of the RPC protocol (JobManager -> TaskManager trigger
// and confirm, batched per TaskManager), shared by the JobManager's gateway
// and the TaskManager simulator. The TaskManager -> JobManager acks/declines
// are in protocol.ts (CheckpointAck, CheckpointDecline).
// The bodies are the CheckpointCoordinator's own port types (no translation layer).
import type { CheckpointNotification, TriggerCheckpointRequest } from '../../checkpoints/coordinator.js';
import { MAX_BATCH, MAX_ID_LENGTH } from './protocol.js';

/** POST /v1/taskmanagers/:taskManagerId/checkpoints/trigger (timestamp: epoch ms the JobManager triggered at). */
export type TriggerCheckpointBody = TriggerCheckpointRequest;

/** POST /v1/taskmanagers/:taskManagerId/checkpoints/confirm */
export type ConfirmCheckpointBody = CheckpointNotification;

export interface TriggerCheckpointResponse {
  /** Attempts that will acknowledge (asynchronously, in one batch). */
  acknowledged: number;
  /** Attempts that declined (sent as one decline batch). */
  declined: number;
}

export interface ConfirmCheckpointResponse {
  confirmed: number;
}

const idString = { type: 'string', minLength: 1, maxLength: MAX_ID_LENGTH } as const;
const attemptIds = { type: 'array', maxItems: MAX_BATCH, items: idString } as const;

export const triggerCheckpointRequestSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['jobId', 'checkpointId', 'timestamp', 'executionAttemptIds'],
  properties: {
    jobId: idString,
    checkpointId: { type: 'integer', minimum: 1 },
    timestamp: { type: 'integer', minimum: 0 },
    executionAttemptIds: attemptIds,
  },
} as const;

export const confirmCheckpointRequestSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['jobId', 'checkpointId', 'executionAttemptIds'],
  properties: {
    jobId: idString,
    checkpointId: { type: 'integer', minimum: 1 },
    executionAttemptIds: attemptIds,
  },
} as const;
