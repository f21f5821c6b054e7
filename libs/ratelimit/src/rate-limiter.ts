import { type Bus } from '@brix/bus';
import { type Clock } from '@brix/clock';
import { type Admission } from '@brix/gateway-core';
import { type HttpApp } from '@brix/http';
import { Counter, type Logger, type Registry } from '@brix/observability';
import { registerUserRoutes } from './admin/routes';
import { QuotaAdmission } from './admission/quota-admission';
import { type CounterEvent, LeasedCounter } from './counter/leased-counter';
import { TokenRatio } from './estimate/token-ratio';
import { type RateLimitConfig } from './settings';
import { UserDirectory } from './users/user-directory';

/** The KV bucket of the shared window counters (`u.<user>`, `m.<model>`). */
export const COUNTERS_BUCKET = 'brix-ratelimit';

export interface RateLimiterDeps {
  /** NatsBus in distributed mode, MemoryBus (or a client of it) embedded: the same code either way. */
  bus: Bus;
  clock: Clock;
  logger: Logger;
  config: RateLimitConfig;
  /** Where the limiter's counters go (`brix_ratelimit_*`); omitted = no metrics. */
  registry?: Registry;
}

export interface RateLimiter {
  /** Plug into `GatewayDeps.admission`. */
  readonly admission: Admission;
  /** Adds the /admin/users API; plug into `GatewayDeps.extensions`. */
  registerRoutes(app: HttpApp): void;
  readonly directory: UserDirectory;
  /** Returns leases, writes pending counts and stops watches; call before closing the bus. */
  close(): Promise<void>;
}

/**
 * Builds users, API keys and shared rate limits on a bus: opens the KV buckets and resolves once every
 * user and key is mirrored locally (so the first request is already decided correctly).
 */
export async function createRateLimiter(deps: RateLimiterDeps): Promise<RateLimiter> {
  const { bus, clock, logger, config } = deps;
  const metrics = deps.registry ? createMetrics(deps.registry) : undefined;
  const directory = await UserDirectory.open({ bus, clock, logger });
  const bucket = await bus.kv(COUNTERS_BUCKET, { history: 1 });
  const connected = () => bus.state() === 'connected';
  const common = {
    bucket,
    clock,
    logger,
    connected,
    failMode: config.rateLimitFailMode,
    leaseFraction: config.rateLimitLeaseFraction,
    leaseIdleMs: config.rateLimitLeaseIdleMs,
    kvTimeoutMs: config.rateLimitKvTimeoutMs,
  };
  const userSlotMs = Math.ceil(config.rateLimitWindowMs / config.rateLimitSlots);
  const users = new LeasedCounter({
    ...common,
    dims: 2,
    shape: { slotMs: userSlotMs, slots: config.rateLimitSlots },
    onEvent: metrics && ((e) => metrics.counterEvent('user', e)),
  });
  const models = new LeasedCounter({
    ...common,
    dims: 1,
    shape: { slotMs: Math.ceil(1000 / config.modelRpsSlots), slots: config.modelRpsSlots },
    // Model windows are one second long: an idle lease goes back within a slot, not after the user setting.
    leaseIdleMs: Math.min(config.rateLimitLeaseIdleMs, Math.ceil(1000 / config.modelRpsSlots)),
    onEvent: metrics && ((e) => metrics.counterEvent('model', e)),
  });
  const admission = new QuotaAdmission({
    directory,
    users,
    models,
    ratio: config.learnTokenRatio ? new TokenRatio() : undefined,
    authRequired: config.authRequired,
    userWindowMs: userSlotMs * config.rateLimitSlots,
    modelRps: config.modelRps,
    modelRpsDefault: config.modelRpsDefault,
    onDecision: metrics && ((d, scope) => metrics.decisions.inc({ decision: d, scope })),
  });
  logger.info(
    {
      authRequired: config.authRequired,
      failMode: config.rateLimitFailMode,
      windowMs: userSlotMs * config.rateLimitSlots,
      slots: config.rateLimitSlots,
    },
    'rate limiter ready',
  );
  return {
    admission,
    directory,
    registerRoutes: (app) => registerUserRoutes(app, directory),
    async close() {
      directory.close();
      await Promise.all([users.close(), models.close()]);
    },
  };
}

function createMetrics(registry: Registry) {
  const decisions = new Counter({
    name: 'brix_ratelimit_decisions_total',
    help: 'Admission decisions of the rate limiter by outcome and by what decided',
    labelNames: ['decision', 'scope'],
    registers: [registry],
  });
  const writes = new Counter({
    name: 'brix_ratelimit_counter_writes_total',
    help: 'Compare-and-set writes of shared rate-limit counters by counter and result',
    labelNames: ['counter', 'result'],
    registers: [registry],
  });
  const offline = new Counter({
    name: 'brix_ratelimit_offline_decisions_total',
    help: 'Decisions taken without the shared counter (NATS unreachable), by counter and outcome',
    labelNames: ['counter', 'outcome'],
    registers: [registry],
  });
  return {
    decisions,
    counterEvent(counter: string, e: CounterEvent) {
      if (e.type === 'write') writes.inc({ counter, result: e.result });
      else if (e.type === 'offline-admit') offline.inc({ counter, outcome: 'admitted' });
      else if (e.type === 'offline-refuse') offline.inc({ counter, outcome: 'refused' });
    },
  };
}
