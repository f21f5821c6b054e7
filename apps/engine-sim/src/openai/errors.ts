import { BrixError } from '@brix/contracts';
import { type Logger } from '@brix/observability';
import { type FastifyError, type FastifyReply, type FastifyRequest } from 'fastify';
import Type, { type Static } from 'typebox';

/**
 * vLLM's error body since 0.10.1 (`ErrorResponse` / `ErrorInfo`): `code` is the HTTP status as a number, `type`
 * a name such as "BadRequestError" or "NotFoundError", `param` null (vLLM fills it only from ≈0.14).
 */
export const VllmErrorBody = Type.Object({
  error: Type.Object({
    message: Type.String(),
    type: Type.String(),
    param: Type.Union([Type.String(), Type.Null()]),
    code: Type.Integer(),
  }),
});
export type VllmErrorBody = Static<typeof VllmErrorBody>;

/** An error answered with vLLM's status, type and message. */
export class VllmError extends Error {
  override readonly name = 'VllmError';
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
  }

  toBody(): VllmErrorBody {
    return { error: { message: this.message, type: this.type, param: null, code: this.status } };
  }
}

/** The `type` vLLM gives each status it answers with. */
const TYPE_BY_STATUS: Record<number, string> = {
  400: 'BadRequestError',
  404: 'NotFoundError',
  500: 'InternalServerError',
  503: 'ServiceUnavailableError',
};

/** A request that fails validation (schema, JSON, Content-Type): vLLM answers 400 with type "Bad Request". */
export const validationError = (message: string) => new VllmError(400, 'Bad Request', message);

/**
 * Maps anything thrown while serving a vLLM route to vLLM's answer, or undefined for a bug (answered 500).
 * Brix errors keep their message; a 409 (an adapter or id already in use) becomes vLLM's 400.
 */
export function toVllmError(err: unknown): VllmError | undefined {
  if (err instanceof VllmError) return err;
  if (err instanceof BrixError) {
    if (err.code === 'invalid_json' || err.code === 'unsupported_media_type') return validationError(err.message);
    const status = err.status === 409 ? 400 : err.status;
    return new VllmError(status, TYPE_BY_STATUS[status] ?? 'BadRequestError', err.message);
  }
  const f = err as FastifyError;
  if (f?.validation) {
    const first = f.validation[0];
    const path = first?.instancePath?.replace(/^\//, '').replace(/\//g, '.') ?? '';
    const missing = (first?.params as { requiredProperties?: string[] } | undefined)?.requiredProperties?.[0];
    const field = missing ? (path ? `${path}.${missing}` : missing) : path;
    return validationError(`Invalid request${field ? ` at '${field}'` : ''}: ${first?.message ?? 'does not match the schema'}`);
  }
  switch (f?.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return validationError('Unsupported Content-Type; send application/json.');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return validationError('The request body is empty; expected a JSON object.');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return validationError(`The request body is not valid JSON: ${f.message}`);
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new VllmError(413, 'BadRequestError', f.message);
  }
  if (err instanceof SyntaxError) return validationError(`The request body is not valid JSON: ${err.message}`);
  const status = f?.statusCode;
  if (status && status >= 400 && status < 500)
    return new VllmError(status, TYPE_BY_STATUS[status] ?? 'BadRequestError', f.message);
  return undefined;
}

/** Sends a vLLM error body (headers first, so it also works from hooks). */
export function sendVllmError(reply: FastifyReply, err: VllmError): FastifyReply {
  return reply.code(err.status).header('content-type', 'application/json').send(err.toBody());
}

/** The error handler of the vLLM routes: vLLM's body for client errors, a 500 that names the request for bugs. */
export function vllmErrorHandler(logger: Logger) {
  return (err: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const mapped = toVllmError(err);
    if (mapped) return sendVllmError(reply, mapped);
    logger.error({ err, reqId: request.id, url: request.url }, 'unhandled error');
    return sendVllmError(reply, new VllmError(500, 'InternalServerError', `Internal error (request ${request.id}).`));
  };
}
