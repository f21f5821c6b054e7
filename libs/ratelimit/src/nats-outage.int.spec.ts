import { NatsBus } from '@brix/bus';
import { WallClock } from '@brix/clock';
import { loadConfig } from '@brix/config';
import { createHttpApp, type HttpApp } from '@brix/http';
import { createLogger, createMetricsRegistry } from '@brix/observability';
import { type NatsServerHandle, startNatsServer, waitFor } from '@brix/testing';
import { createRateLimiter, type RateLimiter } from './rate-limiter';
import { rateLimitSettings } from './settings';

const ADMIN = { authorization: 'Bearer admin-secret' };
const logger = createLogger({ service: 'gateway', level: 'silent' });

/** One replica: a NATS connection, the limiter and an app with the admin API and a probe route. */
async function replica(url: string, env: Record<string, string>) {
  const bus = await NatsBus.connect({ servers: url, name: 'ratelimit-outage-test', reconnectWaitMs: 100 });
  const config = loadConfig(rateLimitSettings, { env });
  const limiter = await createRateLimiter({ bus, clock: new WallClock(), logger, config });
  const app = createHttpApp({
    service: 'gateway',
    logger,
    registry: createMetricsRegistry({ service: 'gateway', processMetrics: false }),
    adminToken: 'admin-secret',
  });
  limiter.registerRoutes(app);
  app.post('/v1/probe', async (request, reply) => {
    const ticket = await limiter.admission.admit(request, { model: 'llama', promptTokens: 5, maxTokens: 5 });
    ticket.settle({ promptTokens: 5, completionTokens: 5 });
    return reply.headers(ticket.headers()).send({ user: ticket.user ?? null });
  });
  return { bus, limiter, app };
}

describe('rate limits when NATS goes away', () => {
  let nats: NatsServerHandle;
  const opened: { bus: NatsBus; limiter: RateLimiter; app: HttpApp }[] = [];

  beforeEach(async () => {
    nats = await startNatsServer();
  });

  afterEach(async () => {
    for (const r of opened.splice(0)) {
      await r.limiter.close();
      await r.app.close();
      await r.bus.close();
    }
    await nats.dispose();
  });

  async function start(env: Record<string, string>) {
    const r = await replica(nats.url, env);
    opened.push(r);
    // Every request of alice reserves 10 tokens (5 + 5) of her 100.
    const created = await r.app.inject({
      method: 'POST',
      url: '/admin/users',
      headers: ADMIN,
      payload: { name: 'alice', rpm: 0, tpm: 100 },
    });
    expect(created.statusCode).toBe(201);
    const probe = () => r.app.inject({ method: 'POST', url: '/v1/probe', headers: { user: 'alice' }, payload: {} });
    return { ...r, probe };
  }

  it('fail-open keeps admitting within the limit, counted locally, and writes the counts back after NATS returns', async () => {
    const r = await start({ BRIX_RATELIMIT_FAIL_MODE: 'open', BRIX_RATELIMIT_LEASE_FRACTION: '0.01' });
    // 3 requests while connected: 30 tokens
    for (let i = 0; i < 3; i++) expect((await r.probe()).statusCode).toBe(200);
    await nats.stop();
    await waitFor(() => r.bus.state() !== 'connected', 'the bus to notice the server is gone');
    // 7 more fit (70 tokens), the 11th does not: the limit holds from the last known count plus local usage.
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await r.probe()).statusCode);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 200, 429]);
    // the user mirror still authenticates while the bus is down
    const unknown = await r.app.inject({ method: 'POST', url: '/v1/probe', headers: { user: 'nobody' }, payload: {} });
    expect(unknown.statusCode).toBe(401);

    await nats.restart();
    await waitFor(() => r.bus.state() === 'connected', 'the bus to reconnect');
    // What was admitted during the outage reaches the shared counter: a fresh replica sees the user at the limit.
    const other = await replica(nats.url, { BRIX_RATELIMIT_FAIL_MODE: 'open' });
    opened.push(other);
    await waitFor(
      async () =>
        (await other.app.inject({ method: 'POST', url: '/v1/probe', headers: { user: 'alice' }, payload: {} })).statusCode ===
        429,
      'the outage usage to be written to the shared counter',
      { timeoutMs: 5000, intervalMs: 100 },
    );
  });

  it('fail-closed answers 503 once no lease covers a request, then recovers when NATS returns', async () => {
    const r = await start({ BRIX_RATELIMIT_FAIL_MODE: 'closed', BRIX_RATELIMIT_LEASE_FRACTION: '0.01' });
    expect((await r.probe()).statusCode).toBe(200);
    await nats.stop();
    await waitFor(() => r.bus.state() !== 'connected', 'the bus to notice the server is gone');
    const refused = await r.probe();
    expect(refused.statusCode).toBe(503);
    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.json().error).toMatchObject({ type: 'service_unavailable', code: 'not_ready' });
    // Admin writes cannot reach the store either: 503, not 500.
    const admin = await r.app.inject({
      method: 'POST',
      url: '/admin/users',
      headers: ADMIN,
      payload: { name: 'bob', rpm: 1, tpm: 1 },
    });
    expect(admin.statusCode).toBe(503);

    await nats.restart();
    await waitFor(async () => (await r.probe()).statusCode === 200, 'admissions to resume', {
      timeoutMs: 10_000,
      intervalMs: 100,
    });
  });
});
