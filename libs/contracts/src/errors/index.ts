import Type, { type Static } from 'typebox';

/**
 * The error body every Brix HTTP API returns, shaped like OpenAI's (and vLLM's since 0.10.1) so that
 * OpenAI clients surface the message: `{ "error": { "message", "type", "param", "code" } }`.
 */
export const ErrorBody = Type.Object({
  error: Type.Object({
    message: Type.String(),
    type: Type.String(),
    param: Type.Union([Type.String(), Type.Null()]),
    code: Type.Union([Type.String(), Type.Null()]),
  }),
});
export type ErrorBody = Static<typeof ErrorBody>;

/**
 * The error catalogue: every code a Brix service may answer with, its HTTP status and OpenAI error type.
 * Codes are lowercase snake_case like OpenAI's (`model_not_found`, `rate_limit_exceeded`).
 */
export const errorCatalogue = {
  invalid_request: { status: 400, type: 'invalid_request_error' },
  invalid_json: { status: 400, type: 'invalid_request_error' },
  unknown_routing_strategy: { status: 400, type: 'invalid_request_error' },
  invalid_api_key: { status: 401, type: 'authentication_error' },
  missing_api_key: { status: 401, type: 'authentication_error' },
  permission_denied: { status: 403, type: 'permission_error' },
  not_found: { status: 404, type: 'not_found_error' },
  model_not_found: { status: 404, type: 'not_found_error' },
  method_not_allowed: { status: 405, type: 'invalid_request_error' },
  conflict: { status: 409, type: 'conflict_error' },
  payload_too_large: { status: 413, type: 'invalid_request_error' },
  unsupported_media_type: { status: 415, type: 'invalid_request_error' },
  rate_limit_exceeded: { status: 429, type: 'rate_limit_error' },
  internal_error: { status: 500, type: 'server_error' },
  upstream_error: { status: 502, type: 'upstream_error' },
  no_capacity: { status: 503, type: 'service_unavailable' },
  not_ready: { status: 503, type: 'service_unavailable' },
  upstream_timeout: { status: 504, type: 'timeout_error' },
} as const satisfies Record<string, { status: number; type: string }>;

export type ErrorCode = keyof typeof errorCatalogue;

export interface BrixErrorOptions {
  param?: string | null;
  /** Extra response headers (Retry-After, x-ratelimit-*). */
  headers?: Record<string, string>;
  cause?: unknown;
}

/** Base of every error that maps to an HTTP answer. `status` and `type` come from the catalogue. */
export class BrixError extends Error {
  override name = 'BrixError';
  readonly status: number;
  readonly type: string;
  readonly param: string | null;
  readonly headers: Record<string, string>;
  constructor(
    readonly code: ErrorCode,
    message: string,
    options: BrixErrorOptions = {},
  ) {
    super(message, { cause: options.cause });
    this.status = errorCatalogue[code].status;
    this.type = errorCatalogue[code].type;
    this.param = options.param ?? null;
    this.headers = options.headers ?? {};
  }

  toBody(): ErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

export class BadRequestError extends BrixError {
  override name = 'BadRequestError';
  constructor(message: string, options?: BrixErrorOptions) {
    super('invalid_request', message, options);
  }
}

export class UnauthorizedError extends BrixError {
  override name = 'UnauthorizedError';
  constructor(message = 'Invalid or missing API key.', code: 'invalid_api_key' | 'missing_api_key' = 'invalid_api_key') {
    super(code, message, { headers: { 'www-authenticate': 'Bearer' } });
  }
}

export class ForbiddenError extends BrixError {
  override name = 'ForbiddenError';
  constructor(message: string) {
    super('permission_denied', message);
  }
}

export class NotFoundError extends BrixError {
  override name = 'NotFoundError';
  constructor(message: string, options?: BrixErrorOptions) {
    super('not_found', message, options);
  }
}

export class ModelNotFoundError extends BrixError {
  override name = 'ModelNotFoundError';
  constructor(readonly model: string) {
    super('model_not_found', `The model \`${model}\` does not exist.`, { param: 'model' });
  }
}

export class ConflictError extends BrixError {
  override name = 'ConflictError';
  constructor(message: string) {
    super('conflict', message);
  }
}

export class PayloadTooLargeError extends BrixError {
  override name = 'PayloadTooLargeError';
  constructor(limitBytes: number) {
    super('payload_too_large', `Request body is larger than the limit of ${limitBytes} bytes.`);
  }
}

export class RateLimitError extends BrixError {
  override name = 'RateLimitError';
  constructor(message: string, retryAfterSeconds: number, headers: Record<string, string> = {}) {
    super('rate_limit_exceeded', message, {
      headers: { ...headers, 'retry-after': String(Math.max(1, Math.ceil(retryAfterSeconds))) },
    });
  }
}

export class ServiceUnavailableError extends BrixError {
  override name = 'ServiceUnavailableError';
  constructor(message: string, retryAfterSeconds = 1, code: 'no_capacity' | 'not_ready' = 'no_capacity') {
    super(code, message, { headers: { 'retry-after': String(Math.max(1, Math.ceil(retryAfterSeconds))) } });
  }
}

export class UpstreamError extends BrixError {
  override name = 'UpstreamError';
  constructor(message: string, options?: BrixErrorOptions) {
    super('upstream_error', message, options);
  }
}

export class UpstreamTimeoutError extends BrixError {
  override name = 'UpstreamTimeoutError';
  constructor(message: string, options?: BrixErrorOptions) {
    super('upstream_timeout', message, options);
  }
}

/** Builds an OpenAI-style body for an error that is not a BrixError (an uncaught bug): a 500 that hides internals. */
export function internalErrorBody(requestId?: string): ErrorBody {
  return {
    error: {
      message: requestId ? `Internal error (request ${requestId}).` : 'Internal error.',
      type: errorCatalogue.internal_error.type,
      param: null,
      code: 'internal_error',
    },
  };
}
