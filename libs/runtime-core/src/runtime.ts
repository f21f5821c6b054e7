import { ArtifactInfo, ArtifactList, type ArtifactStore, DownloadRequest } from '@brix/artifacts';
import { type Bus, publishEvent } from '@brix/bus';
import { type Clock } from '@brix/clock';
import { BrixError, EngineLifecycle, EngineLoad, ErrorBody, type EnginePhase } from '@brix/contracts';
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
import { AdapterManager } from './adapters/adapter-manager';
import { AdapterList, AdapterResult, LoadAdapterRequest, UnloadAdapterRequest } from './adapters/schemas';
import { type EngineClient, EngineUnreachableError } from './engine/engine-client';
import { KvEventBridge } from './kv-events/bridge';
import { type KvEventTransport } from './kv-events/transport';
import { adapterMetrics, kvBridgeMetrics, registerEngineFamilies, runtimeMetrics } from './metrics';

/** Where the engine publishes KV-cache events (vLLM's `--kv-events-config`). */
export interface KvEventsSettings {
  /** The engine's ZMQ publisher, e.g. `tcp://127.0.0.1:5557`. */
  endpoint: string;
  /** The engine's replay ROUTER, e.g. `tcp://127.0.0.1:5558`; absent: gaps are announced, not filled. */
  replayEndpoint?: string;
  /** Topic prefix to subscribe to (vLLM's `topic`, default ""). */
  topic?: string;
  /** Silence after which a replay is given up, ms (default 1000). */
  replayTimeoutMs?: number;
}

export interface RuntimeSettings {
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
  /** This sidecar's base URL, advertised in lifecycle events (so controllers find the adapter API). */
  sidecarUrl?: string;
  /** Pause between polls of the engine's /v1/models for loaded adapters, ms; 0 = never (default 5000). */
  adapterPollIntervalMs?: number;
  /** Longest wait for one engine API call (models, adapter load and unload), ms (default 60000). */
  engineRequestTimeoutMs?: number;
  /** The engine's KV-event publisher; absent or empty endpoint: no bridge. */
  kvEvents?: KvEventsSettings;
}

export interface RuntimeDeps {
  settings: RuntimeSettings;
  logger: Logger;
  registry: Registry;
  bus: Bus;
  clock: Clock;
  engine: EngineClient;
  artifacts: ArtifactStore;
  /** How to reach the engine's KV-event publisher; required when `settings.kvEvents` names an endpoint. */
  kvTransport?: KvEventTransport;
  /** Engine metric tables; default the built-ins. */
  tables?: EngineTableRegistry;
  /** Start the loops when the app becomes ready (default true); false: the caller calls `start()`. */
  autoStart?: boolean;
}

/** A sidecar, built: its HTTP app and the loops that run beside it. */
export interface Runtime {
  /** The fastify app; `ready()` or `listen()` starts the loops, `close()` stops them. */
  readonly app: HttpApp;
  readonly adapters: AdapterManager;
  /** The KV-event bridge, when an endpoint is configured. */
  readonly kvBridge: KvEventBridge | undefined;
  /** Starts scraping, adapter polling and the KV-event bridge. Idempotent; the app's onReady hook calls it unless `autoStart` is false. */
  start(): void;
  /** Sets the sidecar URL lifecycle events advertise from now on (known only once the server listens). */
  advertise(sidecarUrl: string): void;
  /** Stops them; the app's onClose hook calls it. Adapters the runtime was given (engine client, store, bus) stay open. */
  stop(): Promise<void>;
}

/** Consecutive failed scrapes after which the engine is announced not-ready. */
const FAILURES_BEFORE_NOT_READY = 3;
const DEFAULT_ADAPTER_POLL_MS = 5_000;
const DEFAULT_ENGINE_TIMEOUT_MS = 60_000;

const sameStart = (a: number | undefined, b: number | undefined) => a !== undefined && b !== undefined && a === b;

/**
 * The ai-runtime sidecar: standardizes the engine's metrics and publishes load snapshots, downloads
 * artifacts, loads and unloads LoRA adapters, bridges the engine's KV-cache events onto the bus, and
 * announces the engine's lifecycle (ready, not-ready, restarted).
 *
 * Routes: `/healthz` (sidecar up), `/readyz` (engine answers /health), `/metrics` (Brix names),
 * `POST /v1/model/download`, `GET /v1/model/list`, `POST /v1/lora_adapter/load`,
 * `POST /v1/lora_adapter/unload`, `GET /v1/lora_adapter/list`.
 */
export function buildRuntime(deps: RuntimeDeps): Runtime {
  const { settings, logger, registry, bus, clock, engine, artifacts } = deps;
  const tables = deps.tables ?? createEngineTableRegistry();
  const labels = { model: settings.model, pod: settings.pod };
  const metrics = runtimeMetrics(registry, artifacts);
  const connected = busConnectedGauge(registry);
  connected.set(bus.state() === 'connected' ? 1 : 0);
  let offState: (() => void) | undefined;

  let families: readonly ExpositionFamily[] = toExposition(undefined, labels);
  registerEngineFamilies(registry, () => families);

  const adapters = new AdapterManager({
    model: settings.model,
    pod: settings.pod,
    engine,
    artifacts,
    bus,
    clock,
    logger,
    engineTimeoutMs: settings.engineRequestTimeoutMs ?? DEFAULT_ENGINE_TIMEOUT_MS,
    pollIntervalMs: settings.adapterPollIntervalMs ?? DEFAULT_ADAPTER_POLL_MS,
  });
  const adapterStats = adapterMetrics(registry, () => adapters.loaded().length);

  let kvBridge: KvEventBridge | undefined;
  if (settings.kvEvents?.endpoint) {
    if (!deps.kvTransport) throw new TypeError('buildRuntime: settings.kvEvents names an endpoint but no kvTransport was given');
    kvBridge = new KvEventBridge({
      model: settings.model,
      pod: settings.pod,
      bus,
      clock,
      logger,
      transport: deps.kvTransport,
      endpoint: settings.kvEvents.endpoint,
      ...(settings.kvEvents.replayEndpoint ? { replayEndpoint: settings.kvEvents.replayEndpoint } : {}),
      ...(settings.kvEvents.topic ? { topic: settings.kvEvents.topic } : {}),
      ...(settings.kvEvents.replayTimeoutMs ? { replayTimeoutMs: settings.kvEvents.replayTimeoutMs } : {}),
      metrics: kvBridgeMetrics(registry),
    });
  }

  let failures = 0;
  /** Failures in the current streak where the engine did not answer at all. */
  let unreachable = 0;
  let startTime: number | undefined;
  let phase: EnginePhase | undefined;
  let sidecarUrl = settings.sidecarUrl;
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
        ...(sidecarUrl ? { sidecarUrl } : {}),
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
      if (result.error instanceof EngineUnreachableError) unreachable++;
      if (failures === FAILURES_BEFORE_NOT_READY) {
        logger.warn({ err: result.error }, 'engine scrapes failing');
        announce('not-ready', result.error.message);
      }
      return;
    }
    // The engine went away (nothing answered) and came back: a new process, unless it reports the same start time.
    const cameBack = unreachable >= FAILURES_BEFORE_NOT_READY;
    if (failures >= FAILURES_BEFORE_NOT_READY) logger.info('engine scrapes recovered');
    failures = 0;
    unreachable = 0;
    const nowStart = result.metrics.gauges.process_start_time;
    const restarted = result.restarted || (cameBack && !sameStart(startTime, nowStart));
    startTime = nowStart;
    families = toExposition(result.metrics, { ...labels, engine: result.metrics.engine });
    if (result.skipped.length > 0) logger.debug({ skipped: result.skipped.length }, 'engine metrics had unparseable lines');
    if (restarted) {
      const reason = result.restarted ? 'engine counters reset' : 'engine was unreachable and came back';
      logger.info({ reason }, 'engine restarted');
      announce('restarted', reason);
      // A new process holds no adapters: find out now rather than at the next poll.
      void adapters.refresh('engine restarted');
    }
    announce('ready');
    // vLLM's lora_requests_info names only adapters with requests; /v1/models names every loaded one.
    const loadedAdapters = [...new Set([...result.snapshot.loadedAdapters, ...adapters.loaded()])].sort();
    publishEvent(bus, EngineLoad, labels, { ...result.snapshot, loadedAdapters });
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

  let started = false;
  const start = () => {
    if (started) return;
    started = true;
    offState = bus.onStateChange((s) => connected.set(s === 'connected' ? 1 : 0));
    scraper.start();
    adapters.start();
    kvBridge?.start();
  };
  const stop = async () => {
    if (!started) return;
    started = false;
    scraper.stop();
    adapters.stop();
    offState?.();
    await kvBridge?.stop();
  };
  if (deps.autoStart !== false) app.addHook('onReady', async () => start());
  app.addHook('onClose', async () => stop());

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

  /** Counts an adapter operation by outcome and passes its result or error through. */
  const counted = async <T extends { changed: boolean }>(operation: string, run: () => Promise<T>): Promise<T> => {
    try {
      const result = await run();
      adapterStats.operations.inc({ operation, result: result.changed ? 'changed' : 'unchanged' });
      return result;
    } catch (err) {
      adapterStats.operations.inc({ operation, result: err instanceof BrixError ? err.code : 'internal_error' });
      throw err;
    }
  };

  app.post(
    '/v1/lora_adapter/load',
    { schema: { body: LoadAdapterRequest, response: { 200: AdapterResult, '4xx': ErrorBody, '5xx': ErrorBody } } },
    async (request) => {
      const { lora_name, artifact_url, force_download } = request.body;
      return counted('load', () => adapters.load(lora_name, artifact_url, { force: force_download ?? false }));
    },
  );

  app.post(
    '/v1/lora_adapter/unload',
    { schema: { body: UnloadAdapterRequest, response: { 200: AdapterResult, '4xx': ErrorBody, '5xx': ErrorBody } } },
    async (request) => {
      const { lora_name, delete_files } = request.body;
      return counted('unload', () => adapters.unload(lora_name, { deleteFiles: delete_files ?? false }));
    },
  );

  app.get('/v1/lora_adapter/list', { schema: { response: { 200: AdapterList } } }, async () => {
    await adapters.refresh();
    return { object: 'list' as const, data: adapters.list() };
  });

  const advertise = (url: string) => {
    sidecarUrl = url;
  };
  return { app, adapters, kvBridge, start, stop, advertise };
}
