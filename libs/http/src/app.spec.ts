import { Writable } from 'node:stream';
import { ModelNotFoundError, RateLimitError } from '@brix/contracts';
import { createLogger, createMetricsRegistry } from '@brix/observability';
import Type from 'typebox';
import { createHttpApp, type HttpAppOptions } from './app';

function build(overrides: Partial<HttpAppOptions> = {}) {
  const logged: string[] = [];
  const destination = new Writable({
    write(chunk, _e, cb) {
      logged.push(chunk.toString());
      cb();
    },
  });
  const app = createHttpApp({
    service: 'test',
    logger: createLogger({ service: 'test', destination }),
    registry: createMetricsRegistry({ service: 'test', processMetrics: false }),
    adminToken: 'admin-secret',
    bodyLimit: 1024,
    ...overrides,
  });
  app.post(
    '/v1/things',
    { schema: { body: Type.Object({ model: Type.String({ minLength: 1 }), n: Type.Optional(Type.Integer({ minimum: 1 })) }) } },
    async (request) => ({ model: request.body.model }),
  );
  app.get('/v1/missing-model', async () => {
    throw new ModelNotFoundError('gpt-x');
  });
  app.get('/v1/limited', async () => {
    throw new RateLimitError('Too many tokens.', 3, { 'x-ratelimit-remaining-tokens': '0' });
  });
  app.get('/v1/bug', async () => {
    throw new Error('internal detail that must not leak');
  });
  app.get('/admin/ping', async () => ({ pong: true }));
  return { app, logged };
}

const errorShape = {
  error: { message: expect.any(String), type: expect.any(String), code: expect.any(String) },
};

describe('createHttpApp', () => {
  it('serves /healthz, /readyz and /metrics', async () => {
    const { app } = build();
    expect((await app.inject('/healthz')).json()).toEqual({ status: 'ok', service: 'test' });
    expect((await app.inject('/readyz')).statusCode).toBe(200);
    await app.inject('/healthz');
    const metrics = await app.inject('/metrics');
    expect(metrics.headers['content-type']).toContain('text/plain');
    expect(metrics.body).toContain(
      'brix_http_request_duration_seconds_count{service="test",route="/healthz",method="GET",status="200"} 2',
    );
  });

  it('answers 503 on /readyz with the reason when not ready', async () => {
    const { app } = build({ readiness: () => ({ ready: false, reason: 'bus disconnected' }) });
    const res = await app.inject('/readyz');
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({ status: 'not-ready', reason: 'bus disconnected' });
  });

  it.each([
    ['no token', undefined, 401, 'missing_api_key'],
    ['a wrong token', 'Bearer nope', 401, 'invalid_api_key'],
    ['a token of another length', 'Bearer admin-secret-but-longer', 401, 'invalid_api_key'],
    ['a non-bearer scheme', 'Basic admin-secret', 401, 'missing_api_key'],
  ])('guards /admin/* against %s', async (_case, authorization, status, code) => {
    const { app } = build();
    const res = await app.inject({ url: '/admin/ping', headers: authorization ? { authorization } : {} });
    expect(res.statusCode).toBe(status);
    expect(res.json().error.code).toBe(code);
    expect(res.headers['www-authenticate']).toBe('Bearer');
  });

  it('lets the right admin token through', async () => {
    const { app } = build();
    const res = await app.inject({ url: '/admin/ping', headers: { authorization: 'Bearer admin-secret' } });
    expect(res.statusCode).toBe(200);
  });

  it('refuses the admin API entirely when no token is configured', async () => {
    const { app } = build({ adminToken: '' });
    const res = await app.inject({ url: '/admin/ping', headers: { authorization: 'Bearer ' } });
    expect(res.statusCode).toBe(403);
  });

  it.each([
    ['a schema violation', { payload: { model: '' } }, 400, 'invalid_request', 'model'],
    ['a missing field', { payload: { n: 2 } }, 400, 'invalid_request', 'model'],
    ['malformed JSON', { payload: '{"model":', headers: { 'content-type': 'application/json' } }, 400, 'invalid_json', null],
    ['an empty JSON body', { payload: '', headers: { 'content-type': 'application/json' } }, 400, 'invalid_json', null],
    ['a body over the limit', { payload: { model: 'x'.repeat(2000) } }, 413, 'payload_too_large', null],
    [
      'an unsupported content type',
      { payload: 'model=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } },
      415,
      'unsupported_media_type',
      null,
    ],
  ])('answers %s with an OpenAI-style error', async (_case, req, status, code, param) => {
    const { app } = build();
    const res = await app.inject({ method: 'POST', url: '/v1/things', ...(req as object) });
    expect(res.statusCode).toBe(status);
    expect(res.json()).toMatchObject(errorShape);
    expect(res.json().error.code).toBe(code);
    expect(res.json().error.param).toBe(param);
  });

  it('maps named errors to their status, headers and body', async () => {
    const { app } = build();
    const nf = await app.inject('/v1/missing-model');
    expect(nf.statusCode).toBe(404);
    expect(nf.json()).toEqual({
      error: { message: 'The model `gpt-x` does not exist.', type: 'not_found_error', param: 'model', code: 'model_not_found' },
    });
    const rl = await app.inject('/v1/limited');
    expect(rl.statusCode).toBe(429);
    expect(rl.headers['retry-after']).toBe('3');
    expect(rl.headers['x-ratelimit-remaining-tokens']).toBe('0');
  });

  it('answers an unknown route with a 404 error body', async () => {
    const { app } = build();
    const res = await app.inject('/v1/nowhere?x=1');
    expect(res.statusCode).toBe(404);
    expect(res.json().error.message).toBe('No route for GET /v1/nowhere.');
  });

  it('hides a bug behind a 500 naming the request, and logs the stack', async () => {
    const { app, logged } = build();
    const res = await app.inject({ url: '/v1/bug', headers: { 'x-request-id': 'req-42' } });
    expect(res.statusCode).toBe(500);
    expect(res.json().error.message).toBe('Internal error (request req-42).');
    expect(res.body).not.toContain('internal detail');
    expect(logged.join('')).toContain('internal detail that must not leak');
  });

  it('echoes a sane x-request-id and replaces an unsafe one', async () => {
    const { app } = build();
    expect((await app.inject({ url: '/healthz', headers: { 'x-request-id': 'abc-123' } })).headers['x-request-id']).toBe(
      'abc-123',
    );
    const generated = (await app.inject({ url: '/healthz', headers: { 'x-request-id': 'bad id\u0000' } })).headers[
      'x-request-id'
    ];
    expect(generated).toMatch(/^[0-9a-f-]{36}$/);
  });
});
