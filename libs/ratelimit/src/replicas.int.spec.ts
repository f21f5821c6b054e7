import { Writable } from 'node:stream';
import { NatsBus } from '@brix/bus';
import { Rng, WallClock } from '@brix/clock';
import { loadConfig } from '@brix/config';
import { MemoryEngineDirectory } from '@brix/discovery';
import { buildGateway, chatPieces, gatewaySettings } from '@brix/gateway-core';
import { createLogger, createMetricsRegistry } from '@brix/observability';
import { createRouter } from '@brix/routing';
import { freePort, type NatsServerHandle, type ServiceProcess, startApp, startNatsServer, waitFor } from '@brix/testing';
import OpenAI from 'openai';
import { createRateLimiter } from './rate-limiter';
import { rateLimitSettings } from './settings';
import { hashApiKey } from './users/user-directory';

const MODEL = 'llama-3-8b';
const ADMIN = { authorization: 'Bearer admin-secret' };
const ADMIN_JSON = { ...ADMIN, 'content-type': 'application/json' };
const settingsSpec = { ...gatewaySettings, ...rateLimitSettings };

interface Replica {
  name: string;
  url: string;
  logged: string[];
  /** Whether this replica's mirror of users and keys knows `name` yet. */
  knows(name: string): boolean;
  close(): Promise<void>;
}

/** One gateway replica, built in-process as the gateway app builds it, with its own NATS connection. */
async function startGateway(name: string, natsUrl: string, engineUrl: string, env: Record<string, string>): Promise<Replica> {
  const bus = await NatsBus.connect({ servers: natsUrl, name });
  const logged: string[] = [];
  const destination = new Writable({
    write(chunk, _e, cb) {
      logged.push(chunk.toString());
      cb();
    },
  });
  const logger = createLogger({ service: 'gateway', level: 'debug', base: { instance: name }, destination });
  const registry = createMetricsRegistry({ service: 'gateway', processMetrics: false });
  const config = loadConfig(settingsSpec, { env: { BRIX_ADMIN_TOKEN: 'admin-secret', NATS_URL: natsUrl, ...env } });
  const clock = new WallClock();
  const limiter = await createRateLimiter({ bus, clock, logger, config, registry });
  const directory = new MemoryEngineDirectory([{ id: 'sim-0', model: MODEL, url: engineUrl, ready: true, labels: {} }]);
  const gateway = await buildGateway({
    config,
    logger,
    registry,
    bus,
    directory,
    clock,
    rng: new Rng(7),
    router: createRouter(),
    admission: limiter.admission,
    extensions: [limiter.registerRoutes],
    instance: name,
  });
  const port = await freePort();
  await gateway.app.listen({ host: '127.0.0.1', port });
  return {
    name,
    url: `http://127.0.0.1:${port}`,
    logged,
    knows: (user) => limiter.directory.user(user) !== undefined,
    async close() {
      await gateway.close();
      await limiter.close();
      await bus.close();
    },
  };
}

async function createUser(replica: Replica, body: object): Promise<{ api_key: string; key: { id: string } }> {
  const res = await fetch(`${replica.url}/admin/users`, { method: 'POST', headers: ADMIN_JSON, body: JSON.stringify(body) });
  expect(res.status).toBe(201);
  return (await res.json()) as { api_key: string; key: { id: string } };
}

function chat(replica: Replica, key: string, content: string, maxTokens: number) {
  return fetch(`${replica.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content }], max_tokens: maxTokens }),
  });
}

describe('rate limits shared by two gateway replicas over one nats-server', () => {
  let nats: NatsServerHandle;
  let engine: ServiceProcess;
  let engineUrl: string;
  const replicas: Replica[] = [];

  beforeAll(async () => {
    nats = await startNatsServer();
    const port = await freePort();
    engineUrl = `http://127.0.0.1:${port}`;
    engine = await startApp('engine-sim', {
      env: {
        BRIX_PORT: String(port),
        BRIX_SIM_MODEL: MODEL,
        // Simulated time runs 20× faster than the wall clock: requests finish in milliseconds.
        BRIX_SIM_TIME_SCALE: '0.05',
        BRIX_LOG_LEVEL: 'warn',
      },
      readyUrl: `${engineUrl}/health`,
      readyTimeoutMs: 60_000,
    });
  }, 120_000);

  afterAll(async () => {
    await engine?.stop();
    await nats?.dispose();
  });

  afterEach(async () => {
    for (const r of replicas.splice(0)) await r.close();
  });

  async function twoReplicas(env: Record<string, string> = {}): Promise<[Replica, Replica]> {
    const shared = { BRIX_AUTH_REQUIRED: 'true', BRIX_RATELIMIT_LEARN_RATIO: 'false', ...env };
    const a = await startGateway('gw-a', nats.url, engineUrl, shared);
    const b = await startGateway('gw-b', nats.url, engineUrl, shared);
    replicas.push(a, b);
    return [a, b];
  }

  it('takes a key issued on one replica on both, refuses it on both within a second of revocation, and never logs it', async () => {
    const [a, b] = await twoReplicas();
    const created = await createUser(a, { name: 'alice', rpm: 0, tpm: 0 });
    const issued = await fetch(`${a.url}/admin/users/alice/keys`, { method: 'POST', headers: ADMIN });
    const second = (await issued.json()) as { id: string; api_key: string };

    // The user and keys reach replica b through its KV watch.
    expect(issued.status).toBe(201);
    for (const key of [created.api_key, second.api_key]) {
      await waitFor(async () => (await chat(b, key, 'hi', 4)).status === 200, 'replica b to accept the key');
    }
    for (const r of [a, b]) {
      for (const key of [created.api_key, second.api_key]) expect((await chat(r, key, 'hello', 4)).status).toBe(200);
    }

    // Revoke the second key through replica b: both replicas must refuse it within one second.
    const revoked = await fetch(`${b.url}/admin/users/alice/keys/${second.id}`, { method: 'DELETE', headers: ADMIN });
    expect(revoked.status).toBe(204);
    await Promise.all(
      [a, b].map((r) =>
        waitFor(async () => (await chat(r, second.api_key, 'hello', 4)).status === 401, `${r.name} to refuse the revoked key`, {
          timeoutMs: 1000,
          intervalMs: 10,
        }),
      ),
    );
    const refused = await chat(a, second.api_key, 'hello', 4);
    expect(await refused.json()).toEqual({
      error: { message: 'Incorrect API key provided.', type: 'authentication_error', param: null, code: 'invalid_api_key' },
    });
    // The other key still works everywhere.
    for (const r of [a, b]) expect((await chat(r, created.api_key, 'hello', 4)).status).toBe(200);

    const logs = [...a.logged, ...b.logged].join('');
    expect(logs).toContain('api key revoked');
    for (const key of [created.api_key, second.api_key]) {
      expect(logs).not.toContain(key);
      expect(logs).not.toContain(hashApiKey(key));
    }
  });

  it('keeps the tokens admitted by both replicas within the limit plus the under-estimate of requests in flight', async () => {
    const [a, b] = await twoReplicas();
    const limit = 4000;
    const created = await createUser(a, { name: 'bob', rpm: 0, tpm: limit });
    await waitFor(() => b.knows('bob'), 'replica b to mirror bob');
    const maxTokens = 24;
    const content = 'Summarise the rate limiter design in one paragraph, please.';
    // The gateway's estimate for this request: UTF-8 bytes of the chat text / 4, plus max_tokens.
    const reserved = Math.ceil(Buffer.byteLength(chatPieces([{ role: 'user', content }], new Map()).join(''), 'utf8') / 4) + maxTokens;

    const results: { status: number; tokens: number }[] = [];
    // 8 clients per replica, 240 requests in all: about 3× what the limit allows.
    const perReplica = 120;
    const worker = async (r: Replica, count: number) => {
      for (let i = 0; i < count; i++) {
        const res = await chat(r, created.api_key, content, maxTokens);
        const body = (await res.json()) as { usage?: { total_tokens: number } };
        results.push({ status: res.status, tokens: body.usage?.total_tokens ?? 0 });
      }
    };
    await Promise.all([a, b].flatMap((r) => Array.from({ length: 8 }, () => worker(r, perReplica / 8))));

    const admitted = results.filter((r) => r.status === 200);
    const refused = results.filter((r) => r.status === 429);
    expect(admitted.length + refused.length).toBe(results.length);
    expect(refused.length).toBeGreaterThan(0);
    const admittedTokens = admitted.reduce((s, r) => s + r.tokens, 0);
    // Usage above a reservation is charged only when its request ends, so it can take the total past the limit.
    const underEstimate = admitted.reduce((s, r) => s + Math.max(0, r.tokens - reserved), 0);
    expect(admittedTokens).toBeLessThanOrEqual(limit + underEstimate);
    // And the limiter does not starve the user: leases stranded on a replica hold at most 5 % of the limit each.
    expect(admittedTokens).toBeGreaterThan(limit / 2);
  });

  it('keeps serving when NATS stops on a fail-open replica, answers 503 on a fail-closed one, and recovers when NATS returns', async () => {
    const common = { BRIX_AUTH_REQUIRED: 'true', BRIX_RATELIMIT_LEASE_FRACTION: '0.01' };
    const open = await startGateway('gw-open', nats.url, engineUrl, { ...common, BRIX_RATELIMIT_FAIL_MODE: 'open' });
    const closed = await startGateway('gw-closed', nats.url, engineUrl, { ...common, BRIX_RATELIMIT_FAIL_MODE: 'closed' });
    replicas.push(open, closed);
    // A request reserves about 25 tokens (prompt estimate + 8); a lease slice is 1 % of 2000 = 20 tokens.
    const dave = await createUser(open, { name: 'dave', rpm: 0, tpm: 2000 });
    await waitFor(() => closed.knows('dave'), 'the fail-closed replica to mirror dave');
    for (const r of [open, closed]) expect((await chat(r, dave.api_key, 'hello', 8)).status).toBe(200);

    await nats.stop();
    try {
      // The limit is far away (about 100 tokens of 2000 used): the fail-open replica decides alone and keeps serving.
      for (let i = 0; i < 3; i++) expect((await chat(open, dave.api_key, 'hello', 8)).status).toBe(200);
      // The fail-closed replica's lease covers less than one more request: it cannot check the limit, so it refuses.
      const results = [];
      for (let i = 0; i < 3; i++) results.push(await chat(closed, dave.api_key, 'hello', 8));
      const refused = results.filter((r) => r.status === 503);
      expect(refused.length).toBeGreaterThan(0);
      expect(refused[0]!.headers.get('retry-after')).toBe('1');
      expect(((await refused[0]!.json()) as { error: { code: string } }).error.code).toBe('not_ready');
    } finally {
      await nats.restart();
    }
    await waitFor(
      async () => (await chat(closed, dave.api_key, 'hello', 8)).status === 200,
      'the fail-closed replica to admit again',
      {
        timeoutMs: 15_000,
        intervalMs: 100,
      },
    );
    expect((await chat(open, dave.api_key, 'hello', 8)).status).toBe(200);
  });

  it('answers allowed and refused requests with OpenAI rate-limit headers through the official client, streaming included', async () => {
    const [a, b] = await twoReplicas();
    const created = await createUser(a, { name: 'carol', rpm: 3, tpm: 100_000 });
    await waitFor(() => b.knows('carol'), 'replica b to mirror carol');
    const client = (r: Replica) => new OpenAI({ apiKey: created.api_key, baseURL: `${r.url}/v1`, maxRetries: 0 });

    const { data, response } = await client(a)
      .chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'hello' }], max_tokens: 8 })
      .withResponse();
    expect(data.usage?.total_tokens).toBeGreaterThan(0);
    expect(response.headers.get('x-ratelimit-limit-requests')).toBe('3');
    expect(response.headers.get('x-ratelimit-remaining-requests')).toBe('2');
    expect(response.headers.get('x-ratelimit-limit-tokens')).toBe('100000');
    // one request settled to its real usage
    expect(response.headers.get('x-ratelimit-remaining-tokens')).toBe(String(100_000 - data.usage!.total_tokens));
    expect(response.headers.get('x-ratelimit-reset-tokens')).toMatch(/^(\d+ms|\d+(\.\d+)?s|\d+m\d+(\.\d+)?s)$/);

    // A streamed request on the other replica settles to the usage the engine reported at its end.
    const stream = await client(b).chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'stream please' }],
      max_tokens: 8,
      stream: true,
      stream_options: { include_usage: true },
    });
    let streamed = 0;
    for await (const chunk of stream) if (chunk.usage) streamed = chunk.usage.total_tokens;
    expect(streamed).toBeGreaterThan(0);

    // The third request is the last one of the 3 per minute, wherever it lands.
    await client(a).chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'hello' }], max_tokens: 8 });
    let caught: unknown;
    try {
      await client(b).chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'hello' }], max_tokens: 8 });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(OpenAI.RateLimitError);
    const e = caught as InstanceType<typeof OpenAI.RateLimitError>;
    expect(e.status).toBe(429);
    expect(e.code).toBe('rate_limit_exceeded');
    expect(Number(e.headers?.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(e.headers?.get('x-ratelimit-remaining-requests')).toBe('0');
    expect(e.headers?.get('x-ratelimit-limit-tokens')).toBe('100000');
  });
});
