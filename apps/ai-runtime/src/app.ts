import { ArtifactInfo, ArtifactList, type ArtifactStore, DownloadRequest } from '@brix/artifacts';
import { type Bus, publishEvent } from '@brix/bus';
import { type Clock } from '@brix/clock';
import { EngineLifecycle, EngineLoad, ErrorBody, type EnginePhase } from '@brix/contracts';
import {
  createEngineTableRegistry,
  EngineScraper,
  type EngineTableRegistry,
  type ExpositionFamily,
  type ScrapeResult,
  toExposition,
} from '@brix/engine-metrics';
import { createHttpApp, type HttpApp, type Readiness } from '@brix/http';
import { busConnectedGauge, type Logger, type Registry } from '@brix/observability';
import { type EngineClient } from './engine-client';
import { registerEngineFamilies, runtimeMetrics } from './metrics';

export interface AiRuntimeSettings {
  model: string;
  pod: string;
  /** Base URL of the engine, copied into snapshots and lifecycle events. */
  engineUrl: string;
  /** Table id ("vllm", "sglang") or "auto" to detect it from the metric names. */
  engineKind: string;
  scrapeIntervalMs: number;
  scrapeTimeoutMs: number;
  rateWindowMs: number;
  healthTimeoutMs: number;
  gpuType?: string;
  maxNumSeqs?: number;
  adminToken: string;
}

export interface AiRuntimeDeps {
  settings: AiRuntimeSettings;
  logger: Logger;
  registry: Registry;
  bus: Bus;
  clock: Clock;
  engine: EngineClient;
  artifacts: ArtifactStore;
  /** Engine metric tables; default the built-ins. */
  tables?: EngineTableRegistry;
}

/** Consecutive failed scrapes after which the engine is announced not-ready. */
const FAILURES_BEFORE_NOT_READY = 3;

/**
 * The ai-runtime sidecar (first half): standardizes the engine's metrics, publishes load snapshots,
 * and downloads artifacts. The scrape loop starts when the app is ready (listen or `ready()`) and
 * stops when it closes.
 *
 * Routes: `/healthz` (sidecar up), `/readyz` (engine answers /health), `/metrics` (Brix names),
 * `POST /v1/model/download`, `GET /v1/model/list`.
 */
export function buildApp(deps: AiRuntimeDeps): HttpApp {
  const { settings, logger, registry, bus, clock, engine, artifacts } = deps;
  const tables = deps.tables ?? createEngineTableRegistry();
  const labels = { model: settings.model, pod: settings.pod };
  const metrics = runtimeMetrics(registry, artifacts);
  const connected = busConnectedGauge(registry);
  connected.set(bus.state() === 'connected' ? 1 : 0);
  const offState = bus.onStateChange((s) => connected.set(s === 'connected' ? 1 : 0));

  let families: readonly ExpositionFamily[] = toExposition(undefined, labels);
  registerEngineFamilies(registry, () => families);

  let failures = 0;
  let phase: EnginePhase | undefined;
  const announce = (next: EnginePhase, reason?: string) => {
    if (next === phase && next !== 'restarted') return;
    if (next !== 'restarted') phase = next;
    publishEvent(
      bus,
      EngineLifecycle,
      {},
      {
        v: 1,
        model: settings.model,
        pod: settings.pod,
        phase: next,
        ts: clock.now(),
        url: settings.engineUrl,
        ...(settings.gpuType ? { gpuType: settings.gpuType } : {}),
        ...(reason ? { reason } : {}),
      },
    );
  };

  const onScrape = (result: ScrapeResult) => {
    metrics.scrapes.inc({ result: result.ok ? 'ok' : 'error' });
    metrics.scrapeDuration.observe(result.durationMs / 1000);
    metrics.engineUp.set(result.ok ? 1 : 0);
    if (!result.ok) {
      failures++;
      if (failures === FAILURES_BEFORE_NOT_READY) {
        logger.warn({ err: result.error }, 'engine scrapes failing');
        announce('not-ready', result.error.message);
      }
      return;
    }
    if (failures >= FAILURES_BEFORE_NOT_READY) logger.info('engine scrapes recovered');
    failures = 0;
    families = toExposition(result.metrics, { ...labels, engine: result.metrics.engine });
    if (result.skipped.length > 0) logger.debug({ skipped: result.skipped.length }, 'engine metrics had unparseable lines');
    if (result.restarted) {
      logger.info('engine restarted (its counters went back)');
      announce('restarted', 'engine counters reset');
    }
    announce('ready');
    publishEvent(bus, EngineLoad, labels, result.snapshot);
    metrics.snapshots.inc();
  };

  const scraper = new EngineScraper({
    clock,
    fetchText: (signal) => engine.fetchMetrics(signal),
    tables,
    ...(settings.engineKind !== 'auto' ? { engine: settings.engineKind } : {}),
    intervalMs: settings.scrapeIntervalMs,
    timeoutMs: settings.scrapeTimeoutMs,
    model: settings.model,
    pod: settings.pod,
    url: settings.engineUrl,
    windowMs: settings.rateWindowMs,
    ...(settings.gpuType ? { gpuType: settings.gpuType } : {}),
    ...(settings.maxNumSeqs ? { maxNumSeqs: settings.maxNumSeqs } : {}),
    onScrape,
  });

  const readiness = async (): Promise<Readiness> => {
    const controller = new AbortController();
    const timer = clock.setTimer(settings.healthTimeoutMs, () => controller.abort());
    try {
      const health = await engine.health(controller.signal);
      return health.ok ? { ready: true } : { ready: false, reason: health.reason };
    } finally {
      clock.clearTimer(timer);
    }
  };

  const app = createHttpApp({ service: 'ai-runtime', logger, registry, adminToken: settings.adminToken, readiness });

  app.addHook('onReady', async () => scraper.start());
  app.addHook('onClose', async () => {
    scraper.stop();
    offState();
  });

  app.post(
    '/v1/model/download',
    {
      schema: {
        body: DownloadRequest,
        response: { 200: ArtifactInfo, 202: ArtifactInfo, '4xx': ErrorBody, '5xx': ErrorBody },
      },
    },
    async (request, reply) => {
      const { source, force, wait } = request.body;
      // Policy refusals (scheme, host, address, local root) throw here and answer 4xx at once.
      const handle = await artifacts.start(source, { force: force ?? false });
      request.log.info({ key: handle.info.key, source: handle.info.source, status: handle.info.status }, 'artifact requested');
      handle.done.then(
        (info) => logger.info({ key: info.key, files: info.files, bytes: info.bytesDone }, 'artifact ready'),
        (err: Error) =>
          logger.warn(
            { key: handle.info.key, code: (err as { code?: string }).code, message: err.message },
            'artifact download failed',
          ),
      );
      if (handle.info.status === 'complete') return reply.code(200).send(handle.info);
      if (!wait) return reply.code(202).send(handle.info);
      return reply.code(200).send(await handle.done);
    },
  );

  app.get('/v1/model/list', { schema: { response: { 200: ArtifactList } } }, async () => ({
    object: 'list' as const,
    data: await artifacts.list(),
  }));

  return app;
}
