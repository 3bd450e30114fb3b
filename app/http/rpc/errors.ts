// Turning Fastify/ajv errors into `{"errors": [...]}` bodies that name the
// offending field and say what is accepted. Used by both RPC servers (the
// JobManager's and the simulator's).
import type { FastifyError } from 'fastify';

interface AjvLikeError {
  instancePath?: string;
  keyword?: string;
  message?: string;
  params?: Record<string, unknown>;
}

/** `body/updates/0/state` style path of one ajv error, with the field it is about. */
function fieldOf(context: string, error: AjvLikeError): string {
  const base = `${context}${(error.instancePath ?? '').replace(/^\//, '.').replace(/\//g, '.')}`;
  const params = error.params ?? {};
  if (error.keyword === 'required' && typeof params.missingProperty === 'string') return `${base}.${params.missingProperty}`;
  if (error.keyword === 'additionalProperties' && typeof params.additionalProperty === 'string') return `${base}.${params.additionalProperty}`;
  return base;
}

export function describeValidationError(context: string, error: AjvLikeError): string {
  const field = fieldOf(context, error);
  const params = error.params ?? {};
  switch (error.keyword) {
    case 'required':
      return `${field} is required`;
    case 'additionalProperties':
      return `${field} is not an accepted field`;
    case 'enum':
      return `${field} must be one of ${JSON.stringify(params.allowedValues)}`;
    case 'type':
      return `${field} must be of type ${String(params.type)}`;
    default:
      return `${field} ${error.message ?? 'is invalid'}`;
  }
}

export interface HttpErrorAnswer {
  statusCode: number;
  errors: string[];
  headers?: Record<string, string>;
}

/**
 * The answer for an error thrown by Fastify before or around a handler
 * (validation, body parsing, size limit). `bodyLimitKey` names the setting to
 * raise in the 413 message.
 */
export function answerForFastifyError(
  error: FastifyError & { validation?: AjvLikeError[]; validationContext?: string },
  bodyLimitBytes: number,
  bodyLimitKey: string,
): HttpErrorAnswer | undefined {
  if (Array.isArray(error.validation)) {
    const context = error.validationContext ?? 'body';
    const errors = error.validation.map((e) => describeValidationError(context, e));
    return { statusCode: 400, errors: errors.length > 0 ? errors : [error.message] };
  }
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return {
        statusCode: 413,
        errors: [`request body is larger than ${bodyLimitBytes} bytes, the limit set by ${bodyLimitKey}`],
      };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { statusCode: 415, errors: ['content-type must be application/json'] };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { statusCode: 400, errors: ['body is empty; a JSON object is required'] };
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { statusCode: 400, errors: ['content-length does not match the body received'] };
    default:
      break;
  }
  if (error instanceof SyntaxError || error.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
    return { statusCode: 400, errors: [`body is not valid JSON: ${error.message}`] };
  }
  const status = error.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return { statusCode: status, errors: [error.message] };
  }
  return undefined;
}

/**
 * Errors of the domain core and the memory work carry their HTTP meaning
 * (`statusCode`, `errors`, and for 503 a retry hint: AdmissionRejectedError,
 * PoolExhaustedError). Only 4xx and 503 are passed through; anything else is
 * an internal error.
 */
export function answerForCarriedError(error: unknown): HttpErrorAnswer | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const carried = error as { statusCode?: unknown; errors?: unknown; message?: unknown; retryAfterMs?: unknown; retryAfterSeconds?: unknown };
  const status = carried.statusCode;
  if (typeof status !== 'number' || !((status >= 400 && status < 500) || status === 503)) return undefined;
  const errors = Array.isArray(carried.errors) && carried.errors.length > 0
    ? carried.errors.map(String)
    : [String(carried.message ?? 'request refused')];
  const answer: HttpErrorAnswer = { statusCode: status, errors };
  if (status === 503) {
    const seconds = typeof carried.retryAfterSeconds === 'number'
      ? carried.retryAfterSeconds
      : typeof carried.retryAfterMs === 'number' ? carried.retryAfterMs / 1000 : 1;
    answer.headers = { 'retry-after': String(Math.max(1, Math.ceil(seconds))) };
  }
  return answer;
}
