import { type Clock, type Rng } from '@brix/clock';
import { type Bus, publishEvent, subscribeEvents, type Subscription } from '@brix/bus';
import { AdapterEvents, EngineLifecycle, EngineLoad, type EngineLoadSnapshot, GatewayRequests } from '@brix/contracts';
import { type EngineDirectory } from '@brix/discovery';
import { createHttpApp, type HttpApp } from '@brix/http';
import { type Logger, type Registry, invalidMessageCounter } from '@brix/observability';
import { type Admission, openAdmission } from './admission';
import { registerAdminRoutes } from './api/admin';
import { registerInferenceRoutes } from './api/inference';
import { type GatewayConfig } from './config';
import { createGatewayMetrics } from './metrics';
import { createPrefixHasher } from './prefix/prefix-hasher';
import { Upstream } from './proxy/upstream';
import { type GatewayRouter } from './routing-port';
import { EngineStateStore } from './state/engine-state';
import { EnginePoller, type MetricsInterpreter } from './state/engine-poller';
import { StatsBatcher } from './stats/stats-batcher';

export interface GatewayDeps {
  config: GatewayConfig;
  logger: Logger;
  registry: Registry;
  bus: Bus;
  directory: EngineDirectory;
  clock: Clock;
  rng: Rng;
  router: GatewayRouter;
  /** Turns an engine's /metrics text into a load snapshot (from @brix/engine-metrics); without it the gateway never scrapes. */
  interpretMetrics?: MetricsInterpreter;
  admission?: Admission;
  /** Extra routes on the gateway's app (e.g. the users and keys admin API of the rate limiter). */
  extensions?: ReadonlyArray<(app: HttpApp) => void>;
  /** Instance name for stats. */
  instance: string;
}

export interface Gateway {
  readonly app: HttpApp;
  readonly store: EngineStateStore;
  close(): Promise<void>;
}

/** Builds the gateway: HTTP app, engine state fed by the bus and the gateway's own polling, routing, stats. */
export async function buildGateway(deps: GatewayDeps): Promise<Gateway> {
  const { config, bus, clock } = deps;
  const store = new EngineStateStore(deps.directory, {
    clock,
    staleAfterMs: config.staleAfterMs,
    capacityByGpu: config.gpuCapacity,
    breaker: { failureThreshold: config.breakerFailures, openMs: config.breakerOpenMs, maxOpenMs: config.breakerOpenMs * 16 },
  });
  store.onEngineRemoved((id) => deps.router.engineRemoved(id));

  const app = createHttpApp({
    service: 'gateway',
    logger: deps.logger,
    registry: deps.registry,
    adminToken: config.adminToken,
    bodyLimit: config.bodyLimitBytes,
    readiness: () => (bus.state() === 'connected' ? { ready: true } : { ready: false, reason: `bus ${bus.state()}` }),
  });
  const metrics = createGatewayMetrics(deps.registry, store);
  const invalid = invalidMessageCounter(deps.registry);
  const onInvalid = (err: Error, subject: string) =>
    deps.logger.warn({ subject, err: err.message }, 'dropped invalid bus message');

  const subscriptions: Subscription[] = [
    subscribeEvents(bus, EngineLoad, (s: EngineLoadSnapshot) => store.applySnapshot(s, 'bus'), { counter: invalid, onInvalid }),
    subscribeEvents(bus, AdapterEvents, (e) => store.applyAdapterEvent(e), { counter: invalid, onInvalid }),
    subscribeEvents(
      bus,
      EngineLifecycle,
      (e) => {
        if (e.phase === 'restarted') store.markRestarted(e.pod);
      },
      { counter: invalid, onInvalid },
    ),
  ];

  const upstream = new Upstream({
    connectionsPerOrigin: config.connectionsPerEngine,
    connectTimeoutMs: config.connectTimeoutMs,
    headersTimeoutMs: config.headersTimeoutMs,
    bodyTimeoutMs: config.bodyTimeoutMs,
  });
  const stats = new StatsBatcher(
    deps.instance,
    clock,
    (batch) => publishEvent(bus, GatewayRequests, {}, batch),
    config.statsFlushMs,
  );
  const poller = new EnginePoller(store, upstream, clock, deps.logger, {
    scrapeIntervalMs: deps.interpretMetrics ? config.scrapeIntervalMs : 0,
    adapterPollMs: config.adapterPollMs,
    interpret: deps.interpretMetrics,
  });

  registerInferenceRoutes(app, {
    store,
    router: deps.router,
    hasher: createPrefixHasher(config.prefixBlockBytes),
    upstream,
    clock,
    rng: deps.rng,
    metrics,
    admission: deps.admission ?? openAdmission,
    logger: deps.logger,
    recordStat: (s) => stats.record(s),
    settings: {
      defaultStrategy: config.defaultStrategy,
      maxRetries: config.maxRetries,
      injectUsage: config.injectUsage,
      defaultMaxTokens: config.defaultMaxTokens,
      engineApiKey: config.engineApiKey,
    },
  });
  registerAdminRoutes(app, store, () => clock.now());
  for (const extend of deps.extensions ?? []) extend(app);
  poller.start();

  return {
    app,
    store,
    async close() {
      poller.stop();
      for (const s of subscriptions) s.unsubscribe();
      stats.flush();
      store.close();
      await app.close();
      await upstream.close();
    },
  };
}
