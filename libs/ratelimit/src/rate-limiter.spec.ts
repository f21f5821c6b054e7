import { Writable } from 'node:stream';
import { MemoryBus } from '@brix/bus';
import { VirtualClock } from '@brix/clock';
import { loadConfig } from '@brix/config';
import { type AdmissionTicket } from '@brix/gateway-core';
import { createHttpApp } from '@brix/http';
import { createLogger, createMetricsRegistry } from '@brix/observability';
import { createRateLimiter } from './rate-limiter';
import { rateLimitSettings } from './settings';
import { USERS_BUCKET } from './users/user-directory';

const ADMIN = { authorization: 'Bearer admin-secret' };
const T0 = 1_000_020_000; // a slot boundary of the 60 s / 20-slot window (3 s slots)

interface ProbeBody {
  model: string;
  adapter?: string;
  prompt_tokens: number;
  max_tokens: number;
  /** Engine usage to settle with; null settles as failed; absent keeps the request in flight. */
  usage?: { promptTokens: number; completionTokens: number } | null;
}

/**
 * A gateway-shaped app around the limiter: the admin API plus a probe route that does what the gateway's
 * inference path does with an Admission (admit with an estimate, answer with the ticket's headers, settle).
 */
async function harness(env: Record<string, string> = {}) {
  const clock = new VirtualClock(T0);
  const bus = new MemoryBus({ now: () => clock.now() });
  const logged: string[] = [];
  const destination = new Writable({
    write(chunk, _e, cb) {
      logged.push(chunk.toString());
      cb();
    },
  });
  const logger = createLogger({ service: 'gateway', destination });
  const registry = createMetricsRegistry({ service: 'gateway', processMetrics: false });
  const config = loadConfig(rateLimitSettings, { env });
  const limiter = await createRateLimiter({ bus, clock, logger, config, registry });
  const app = createHttpApp({ service: 'gateway', logger, registry, adminToken: 'admin-secret' });
  limiter.registerRoutes(app);
  const inFlight: AdmissionTicket[] = [];
  app.post('/v1/probe', async (request, reply) => {
    const body = request.body as ProbeBody;
    const ticket = await limiter.admission.admit(request, {
      model: body.model,
      adapter: body.adapter,
      promptTokens: body.prompt_tokens,
      maxTokens: body.max_tokens,
    });
    if (body.usage === undefined) inFlight.push(ticket);
    else ticket.settle(body.usage ?? undefined);
    return reply.headers(ticket.headers()).send({ user: ticket.user ?? null });
  });
  const probe = (body: Partial<ProbeBody>, headers: Record<string, string> = {}) =>
    app.inject({
      method: 'POST',
      url: '/v1/probe',
      headers,
      payload: { model: 'llama', prompt_tokens: 10, max_tokens: 10, usage: { promptTokens: 10, completionTokens: 10 }, ...body },
    });
  const createUser = async (body: object) => {
    const res = await app.inject({ method: 'POST', url: '/admin/users', headers: ADMIN, payload: body });
    expect(res.statusCode).toBe(201);
    return res.json() as { name: string; api_key: string; key: { id: string; prefix: string } };
  };
  const drain = async () => {
    for (let i = 0; i < 3; i++) await new Promise<void>((r) => setImmediate(r));
  };
  return { app, bus, clock, limiter, logged, registry, probe, createUser, inFlight, drain };
}

type Harness = Awaited<ReturnType<typeof harness>>;
let h: Harness | undefined;
afterEach(async () => {
  await h?.limiter.close();
  await h?.app.close();
  h = undefined;
});

describe('users and keys admin API', () => {
  it('is behind the admin token', async () => {
    h = await harness();
    const res = await h.app.inject({ method: 'GET', url: '/admin/users' });
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe('missing_api_key');
  });

  it('creates a user with one key shown once, then reads, lists, updates and deletes it', async () => {
    h = await harness();
    const created = await h.app.inject({
      method: 'POST',
      url: '/admin/users',
      headers: ADMIN,
      payload: { name: 'alice', rpm: 10, tpm: 1000, models: ['llama'] },
    });
    expect(created.statusCode).toBe(201);
    const body = created.json();
    expect(body).toMatchObject({ name: 'alice', rpm: 10, tpm: 1000, models: ['llama'], created_at: T0, updated_at: T0 });
    expect(body.api_key).toMatch(/^brix-[A-Za-z0-9_-]{43}$/);
    expect(body.key).toEqual({
      id: expect.stringMatching(/^key_[0-9a-f]{16}$/),
      prefix: body.api_key.slice(0, 12),
      created_at: T0,
    });
    expect(created.headers['cache-control']).toBe('no-store');

    const read = await h.app.inject({ method: 'GET', url: '/admin/users/alice', headers: ADMIN });
    expect(read.json()).toEqual({ name: 'alice', rpm: 10, tpm: 1000, models: ['llama'], created_at: T0, updated_at: T0 });

    h.clock.advance(5);
    const patched = await h.app.inject({
      method: 'PATCH',
      url: '/admin/users/alice',
      headers: ADMIN,
      payload: { tpm: 5, models: null },
    });
    expect(patched.statusCode).toBe(200);
    expect(patched.json()).toEqual({ name: 'alice', rpm: 10, tpm: 5, models: null, created_at: T0, updated_at: T0 + 5 });

    await h.createUser({ name: 'bob', rpm: 0, tpm: 0 });
    const list = await h.app.inject({ method: 'GET', url: '/admin/users', headers: ADMIN });
    expect(list.json().data.map((u: { name: string }) => u.name)).toEqual(['alice', 'bob']);
    expect(JSON.stringify(list.json())).not.toContain('api_key');

    expect((await h.app.inject({ method: 'DELETE', url: '/admin/users/alice', headers: ADMIN })).statusCode).toBe(204);
    expect((await h.app.inject({ method: 'GET', url: '/admin/users/alice', headers: ADMIN })).statusCode).toBe(404);
    // the deleted user's key is gone with them
    await h.drain();
    expect((await h.probe({}, { authorization: `Bearer ${body.api_key}` })).json().user).toBeNull();
  });

  it.each([
    ['a duplicate name', { name: 'dup', rpm: 1, tpm: 1 }, 409, 'conflict'],
    ['a negative limit', { name: 'x', rpm: -1, tpm: 1 }, 400, 'invalid_request'],
    ['a missing limit', { name: 'x', rpm: 1 }, 400, 'invalid_request'],
    ['an unknown field', { name: 'x', rpm: 1, tpm: 1, tpm_limit: 5 }, 400, 'invalid_request'],
    ['a name with a space', { name: 'a b', rpm: 1, tpm: 1 }, 400, 'invalid_request'],
  ])('refuses %s', async (_case, payload, status, code) => {
    h = await harness();
    await h.createUser({ name: 'dup', rpm: 1, tpm: 1 });
    const res = await h.app.inject({ method: 'POST', url: '/admin/users', headers: ADMIN, payload });
    expect(res.statusCode).toBe(status);
    expect(Object.keys(res.json().error).sort()).toEqual(['code', 'message', 'param', 'type']);
    expect(res.json().error.code).toBe(code);
  });

  it.each([
    ['an empty update', 'PATCH', '/admin/users/dup', {}],
    ['an update with an unknown field', 'PATCH', '/admin/users/dup', { burst: 3 }],
    ['a malformed key id', 'DELETE', '/admin/users/dup/keys/42', undefined],
    ['a malformed user name', 'GET', '/admin/users/%20x', undefined],
  ])('answers 400 to %s', async (_case, method, url, payload) => {
    h = await harness();
    await h.createUser({ name: 'dup', rpm: 1, tpm: 1 });
    const res = await h.app.inject({ method: method as 'GET', url, headers: ADMIN, ...(payload ? { payload } : {}) });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('invalid_request');
  });

  it.each([
    ['GET', '/admin/users/ghost', undefined],
    ['PATCH', '/admin/users/ghost', { rpm: 1 }],
    ['DELETE', '/admin/users/ghost', undefined],
    ['POST', '/admin/users/ghost/keys', undefined],
    ['GET', '/admin/users/ghost/keys', undefined],
    ['DELETE', '/admin/users/ghost/keys/key_0000000000000000', undefined],
  ])('answers 404 for %s %s of an unknown user', async (method, url, payload) => {
    h = await harness();
    const res = await h.app.inject({ method: method as 'GET', url, headers: ADMIN, ...(payload ? { payload } : {}) });
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe('not_found');
  });

  it('issues, lists and revokes keys; stores only hashes; never logs a key or its hash', async () => {
    h = await harness();
    const alice = await h.createUser({ name: 'alice', rpm: 0, tpm: 0 });
    const issued = await h.app.inject({ method: 'POST', url: '/admin/users/alice/keys', headers: ADMIN });
    expect(issued.statusCode).toBe(201);
    const second = issued.json() as { id: string; prefix: string; api_key: string };
    expect(second.api_key).not.toBe(alice.api_key);

    const listed = await h.app.inject({ method: 'GET', url: '/admin/users/alice/keys', headers: ADMIN });
    const data = listed.json().data as object[];
    expect(data).toHaveLength(2);
    for (const k of data) expect(Object.keys(k).sort()).toEqual(['created_at', 'id', 'prefix']);

    // Both keys work, then the revoked one stops working.
    for (const key of [alice.api_key, second.api_key]) {
      expect((await h.probe({}, { authorization: `Bearer ${key}` })).json().user).toBe('alice');
    }
    const revoked = await h.app.inject({ method: 'DELETE', url: `/admin/users/alice/keys/${second.id}`, headers: ADMIN });
    expect(revoked.statusCode).toBe(204);
    await h.drain();
    expect((await h.probe({}, { authorization: `Bearer ${second.api_key}` })).json().user).toBeNull();
    expect((await h.probe({}, { authorization: `Bearer ${alice.api_key}` })).json().user).toBe('alice');
    const again = await h.app.inject({ method: 'DELETE', url: `/admin/users/alice/keys/${second.id}`, headers: ADMIN });
    expect(again.statusCode).toBe(404);

    // What the bucket holds: hashes, never a key.
    const bucket = await h.bus.kv(USERS_BUCKET);
    const stored: string[] = [];
    for (const k of await bucket.keys()) stored.push(new TextDecoder().decode((await bucket.get(k))!.value));
    expect(stored.join('\n')).not.toContain(alice.api_key);
    expect(stored.join('\n')).toMatch(/"hash":"[0-9a-f]{64}"/);

    const logs = h.logged.join('');
    const { hashApiKey } = await import('./users/user-directory');
    for (const key of [alice.api_key, second.api_key]) {
      expect(logs).not.toContain(key);
      expect(logs).not.toContain(hashApiKey(key));
    }
    expect(logs).toContain('api key revoked');
  });
});

describe('admission', () => {
  describe('with keys required', () => {
    const env = { BRIX_AUTH_REQUIRED: 'true' };

    it.each([
      ['no key', {}, 'missing_api_key'],
      ['a wrong key', { authorization: 'Bearer brix-not-a-real-key' }, 'invalid_api_key'],
      ['a key of another format', { authorization: 'Bearer sk-123' }, 'invalid_api_key'],
      ['a user header instead of a key', { user: 'alice' }, 'missing_api_key'],
    ])('refuses %s with 401 in OpenAI error format', async (_case, headers, code) => {
      h = await harness(env);
      await h.createUser({ name: 'alice', rpm: 0, tpm: 0 });
      const res = await h.probe({}, headers);
      expect(res.statusCode).toBe(401);
      expect(res.json()).toEqual({ error: { message: expect.any(String), type: 'authentication_error', param: null, code } });
      expect(res.headers['www-authenticate']).toBe('Bearer');
    });

    it('lets a valid key in as its user', async () => {
      h = await harness(env);
      const alice = await h.createUser({ name: 'alice', rpm: 0, tpm: 0 });
      const res = await h.probe({}, { authorization: `Bearer ${alice.api_key}` });
      expect(res.statusCode).toBe(200);
      expect(res.json().user).toBe('alice');
    });
  });

  describe('with keys optional', () => {
    it('lets requests that name no user through without limits or headers', async () => {
      h = await harness();
      const res = await h.probe({}, { authorization: 'Bearer EMPTY' });
      expect(res.statusCode).toBe(200);
      expect(Object.keys(res.headers).filter((k) => k.startsWith('x-ratelimit'))).toEqual([]);
    });

    it('applies the limits of the user named by the `user` header, and refuses an unknown one', async () => {
      h = await harness();
      await h.createUser({ name: 'alice', rpm: 1, tpm: 0 });
      expect((await h.probe({}, { user: 'alice' })).statusCode).toBe(200);
      expect((await h.probe({}, { user: 'alice' })).statusCode).toBe(429);
      const unknown = await h.probe({}, { user: 'mallory' });
      expect(unknown.statusCode).toBe(401);
      expect(unknown.json().error.message).toContain('mallory');
    });
  });

  it.each([
    ['the model itself', { model: 'llama' }, 200],
    ['an adapter of an allowed base model', { model: 'llama', adapter: 'sql-lora' }, 200],
    ['an adapter allowed by name', { model: 'qwen', adapter: 'chat-lora' }, 200],
    ['another model', { model: 'qwen' }, 404],
  ])('enforces the model allow-list: %s', async (_case, body, status) => {
    h = await harness();
    await h.createUser({ name: 'alice', rpm: 0, tpm: 0, models: ['llama', 'chat-lora'] });
    const res = await h.probe(body, { user: 'alice' });
    expect(res.statusCode).toBe(status);
    if (status === 404) {
      expect(res.json().error).toEqual({
        message: 'The model `qwen` does not exist or you do not have access to it.',
        type: 'not_found_error',
        param: 'model',
        code: 'model_not_found',
      });
    }
  });

  it('answers every request of a limited user with OpenAI rate-limit headers, and 429 with Retry-After past the RPM', async () => {
    h = await harness();
    await h.createUser({ name: 'alice', rpm: 3, tpm: 1000 });
    const first = await h.probe({}, { user: 'alice' });
    expect(first.statusCode).toBe(200);
    // 1 request and 20 tokens used (settled to 10 + 10); reset when slot T0 expires: 60 s + one 3 s slot
    expect(first.headers).toMatchObject({
      'x-ratelimit-limit-requests': '3',
      'x-ratelimit-remaining-requests': '2',
      'x-ratelimit-reset-requests': '1m3s',
      'x-ratelimit-limit-tokens': '1000',
      'x-ratelimit-remaining-tokens': '980',
      'x-ratelimit-reset-tokens': '1m3s',
    });
    h.clock.advance(1500);
    await h.probe({}, { user: 'alice' });
    await h.probe({}, { user: 'alice' });
    const refused = await h.probe({}, { user: 'alice' });
    expect(refused.statusCode).toBe(429);
    expect(refused.json().error).toMatchObject({ type: 'rate_limit_error', code: 'rate_limit_exceeded' });
    expect(refused.json().error.message).toContain('requests per min (RPM): limit 3');
    // all 3 requests sit in slot T0, which expires 63 s after T0; now is T0 + 1.5 s → 61.5 s, rounded up
    expect(refused.headers['retry-after']).toBe('62');
    expect(refused.headers['x-ratelimit-remaining-requests']).toBe('0');
    expect(refused.headers['x-ratelimit-reset-requests']).toBe('1m1.5s');
  });

  it('reserves prompt + max_tokens, then settles to real usage', async () => {
    h = await harness();
    await h.createUser({ name: 'alice', rpm: 0, tpm: 1000 });
    // reserve 100 + 500 and keep it in flight: 400 left
    const held = await h.probe({ prompt_tokens: 100, max_tokens: 500, usage: undefined }, { user: 'alice' });
    expect(held.headers['x-ratelimit-remaining-tokens']).toBe('400');
    // a second request of 600 does not fit while the first is in flight
    const refused = await h.probe({ prompt_tokens: 100, max_tokens: 500 }, { user: 'alice' });
    expect(refused.statusCode).toBe(429);
    // used: the 600 in flight (this replica's own unused lease of 50 is not counted as used)
    expect(refused.json().error.message).toContain('tokens per min (TPM): limit 1000, used 600, requested 600');
    // the first ends having used 100 + 50: 450 of its 600 come back
    h.inFlight[0]!.settle({ promptTokens: 100, completionTokens: 50 });
    const after = await h.probe({ prompt_tokens: 100, max_tokens: 500 }, { user: 'alice' });
    expect(after.statusCode).toBe(200);
    // 150 (first) + 20 (second, settled to 10 + 10) used
    expect(after.headers['x-ratelimit-remaining-tokens']).toBe('830');
  });

  it('releases the whole reservation of a failed request', async () => {
    h = await harness();
    await h.createUser({ name: 'alice', rpm: 1, tpm: 100 });
    expect((await h.probe({ usage: null, prompt_tokens: 50, max_tokens: 50 }, { user: 'alice' })).statusCode).toBe(200);
    // the failure gave back its request and 100 tokens: the next full-size request fits
    const next = await h.probe({ prompt_tokens: 50, max_tokens: 50 }, { user: 'alice' });
    expect(next.statusCode).toBe(200);
  });

  it('refuses a request larger than the whole TPM limit, saying so', async () => {
    h = await harness();
    await h.createUser({ name: 'alice', rpm: 0, tpm: 100 });
    const res = await h.probe({ prompt_tokens: 50, max_tokens: 51 }, { user: 'alice' });
    expect(res.statusCode).toBe(429);
    expect(res.json().error.message).toContain('Request too large');
    // never fits: wait a whole window (60 s)
    expect(res.headers['retry-after']).toBe('60');
  });

  it('limits requests per second per model across users, anonymous ones included', async () => {
    h = await harness({ BRIX_MODEL_RPS: '{"llama": 2}' });
    await h.createUser({ name: 'alice', rpm: 100, tpm: 0 });
    expect((await h.probe({}, { user: 'alice' })).statusCode).toBe(200);
    expect((await h.probe({})).statusCode).toBe(200);
    const third = await h.probe({}, { user: 'alice' });
    expect(third.statusCode).toBe(429);
    expect(third.json().error.message).toContain('limit of 2 requests per second');
    // another model is not limited (no default)
    expect((await h.probe({ model: 'qwen' })).statusCode).toBe(200);
    // the refused request gave alice's request back: 2 of her 100 were used (the 1st and the 3rd was released)
    expect(third.headers['x-ratelimit-remaining-requests']).toBe('99');
  });

  it('counts decisions in metrics', async () => {
    h = await harness({ BRIX_AUTH_REQUIRED: 'true' });
    await h.probe({});
    const text = await h.registry.metrics();
    expect(text).toContain('brix_ratelimit_decisions_total{decision="unauthorized",scope="auth",service="gateway"} 1');
  });
});
