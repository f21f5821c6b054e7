import { randomUUID, timingSafeEqual } from 'node:crypto';
import { type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { BrixError, errorCatalogue, type ErrorBody, internalErrorBody, UnauthorizedError } from '@brix/contracts';
import { type Logger } from '@brix/observability';
import { type TypeBoxTypeProvider, TypeBoxValidatorCompiler } from '@fastify/type-provider-typebox';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import { Histogram, type Registry } from 'prom-client';

/** A fastify instance with the TypeBox type provider: route schemas are the request and reply types. */
export type HttpApp = FastifyInstance<Server, IncomingMessage, ServerResponse, FastifyBaseLogger, TypeBoxTypeProvider>;

/** Readiness of a service: ready, or not with a reason an operator can read. */
export type Readiness = { ready: true } | { ready: false; reason: string };

export interface HttpAppOptions {
  /** Service name, for logs and metrics. */
  service: string;
  logger: Logger;
  registry: Registry;
  /** Bearer token that guards `/admin/*`. Empty: the admin API answers 403 to everyone. */
  adminToken: string;
  /** Called by `/readyz`; default always ready. */
  readiness?: () => Readiness | Promise<Readiness>;
  /** Largest accepted request body in bytes (default 1 MiB). Larger bodies get 413. */
  bodyLimit?: number;
  /** Record `brix_http_request_duration_seconds` per route (default true). */
  requestMetrics?: boolean;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Sends a Brix error: its status, extra headers and OpenAI-style body. */
export function sendError(reply: FastifyReply, err: BrixError): FastifyReply {
  return reply.code(err.status).headers(err.headers).send(err.toBody());
}

function fastifyErrorToBrix(err: FastifyError, bodyLimit: number): BrixError | undefined {
  if (err.validation) {
    const first = err.validation[0];
    const path = first?.instancePath?.replace(/^\//, '').replace(/\//g, '.') || undefined;
    const missing = (first?.params as { requiredProperties?: string[] } | undefined)?.requiredProperties?.[0];
    const param = missing ? (path ? `${path}.${missing}` : missing) : path;
    const where = err.validationContext && err.validationContext !== 'body' ? `${err.validationContext} ` : '';
    const message =
      `Invalid request ${where}${param ? `at '${param}'` : ''}: ${first?.message ?? 'does not match the schema'}`.replace(
        ' :',
        ':',
      );
    return new BrixError('invalid_request', message, { param: param ?? null });
  }
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new BrixError('payload_too_large', `Request body is larger than the limit of ${bodyLimit} bytes.`);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new BrixError('unsupported_media_type', 'Unsupported Content-Type; send application/json.');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new BrixError('invalid_json', 'The request body is empty; expected a JSON object.');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new BrixError('invalid_json', `The request body is not valid JSON: ${err.message}`);
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new BrixError('invalid_request', 'Content-Length does not match the body.');
  }
  if (err instanceof SyntaxError || (err as { type?: string }).type === 'entity.parse.failed') {
    return new BrixError('invalid_json', `The request body is not valid JSON: ${err.message}`);
  }
  const status = err.statusCode;
  if (status && status >= 400 && status < 500) {
    const code =
      status === 404
        ? 'not_found'
        : status === 405
          ? 'method_not_allowed'
          : status === 413
            ? 'payload_too_large'
            : 'invalid_request';
    return new BrixError(code, err.message);
  }
  return undefined;
}

function tokensEqual(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Extracts the token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(request: FastifyRequest): string | undefined {
  const h = request.headers.authorization;
  if (!h) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  return m?.[1];
}

/**
 * The fastify app every Brix service starts from:
 * - `/healthz` (process up), `/readyz` (dependencies ready), `/metrics` (Prometheus text);
 * - `/admin/*` guarded by a bearer token, compared in constant time;
 * - `x-request-id` taken from the client when sane, generated otherwise, echoed on every response;
 * - every error answered with the OpenAI-style body and the catalogue's status; a client's mistake is
 *   never a 500, and a bug is a 500 that names the request id and logs the stack.
 */
export function createHttpApp(options: HttpAppOptions): HttpApp {
  const bodyLimit = options.bodyLimit ?? 1024 * 1024;
  const app = Fastify({
    loggerInstance: options.logger as FastifyBaseLogger,
    // Per-request log lines cost time on every request; services log what matters themselves.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    // Routing requests are machine traffic; keep the connection pool of clients warm.
    keepAliveTimeout: 65_000,
    return503OnClosing: true,
  })
    .setValidatorCompiler(TypeBoxValidatorCompiler)
    .withTypeProvider<TypeBoxTypeProvider>();

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });

  if (options.requestMetrics !== false) {
    const duration = new Histogram({
      name: 'brix_http_request_duration_seconds',
      help: 'HTTP request duration by route, method and status',
      labelNames: ['route', 'method', 'status'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [options.registry],
    });
    app.addHook('onResponse', async (request, reply) => {
      duration.observe(
        { route: request.routeOptions.url ?? 'unmatched', method: request.method, status: String(reply.statusCode) },
        reply.elapsedTime / 1000,
      );
    });
  }

  app.addHook('onRequest', async (request, reply) => {
    if (!request.url.startsWith('/admin/') && request.url !== '/admin') return;
    if (!options.adminToken) {
      return sendError(
        reply,
        new BrixError('permission_denied', 'The admin API is disabled: set BRIX_ADMIN_TOKEN to enable it.'),
      );
    }
    const token = bearerToken(request);
    if (!token) return sendError(reply, new UnauthorizedError('Missing admin bearer token.', 'missing_api_key'));
    if (!tokensEqual(token, options.adminToken)) return sendError(reply, new UnauthorizedError('Invalid admin bearer token.'));
  });

  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (err instanceof BrixError) return sendError(reply, err);
    const mapped = fastifyErrorToBrix(err, bodyLimit);
    if (mapped) return sendError(reply, mapped);
    request.log.error({ err, reqId: request.id, url: request.url }, 'unhandled error');
    return reply.code(500).send(internalErrorBody(request.id) satisfies ErrorBody);
  });

  app.setNotFoundHandler((request, reply) =>
    sendError(reply, new BrixError('not_found', `No route for ${request.method} ${request.url.split('?')[0]}.`)),
  );

  app.get('/healthz', async () => ({ status: 'ok', service: options.service }));
  app.get('/readyz', async (_request, reply) => {
    const r = (await options.readiness?.()) ?? { ready: true };
    if (r.ready) return { status: 'ready' };
    return reply.code(errorCatalogue.not_ready.status).send({ status: 'not-ready', reason: r.reason });
  });
  app.get('/metrics', async (_request, reply) => {
    reply.header('content-type', options.registry.contentType);
    return options.registry.metrics();
  });

  return app;
}
