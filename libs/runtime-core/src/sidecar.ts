import { type ArtifactStore, createArtifactStore, type CreateArtifactStoreOptions, SUPPORTED_SCHEMES } from '@brix/artifacts';
import { type Bus } from '@brix/bus';
import { type Clock } from '@brix/clock';
import { createMetricsRegistry, type Logger, type Registry } from '@brix/observability';
import { createEngineClient, type EngineClient } from './engine/engine-client';
import { createZmqKvTransport, type KvEventTransport } from './kv-events/transport';
import { buildRuntime, type KvEventsSettings, type Runtime, type RuntimeSettings } from './runtime';

/** Hosts http(s) artifact downloads may reach by default: the Hugging Face hub and its CDN. */
export const DEFAULT_ALLOWED_HOSTS = ['huggingface.co', '*.huggingface.co', 'hf.co', '*.hf.co'] as const;

/** Scraping and engine-call timing of a sidecar, ms (engineKind: "auto", "vllm" or "sglang"). */
export interface RuntimeTiming {
  engineKind: string;
  scrapeIntervalMs: number;
  scrapeTimeoutMs: number;
  rateWindowMs: number;
  healthTimeoutMs: number;
  adapterPollIntervalMs: number;
  engineRequestTimeoutMs: number;
}

/** The sidecar's defaults for scraping and engine calls (the app's settings use the same numbers). */
export const RUNTIME_DEFAULTS: Readonly<RuntimeTiming> = {
  engineKind: 'auto',
  scrapeIntervalMs: 100,
  scrapeTimeoutMs: 2000,
  rateWindowMs: 1000,
  healthTimeoutMs: 1000,
  adapterPollIntervalMs: 5000,
  engineRequestTimeoutMs: 60_000,
};

/** The side-effecting adapters a sidecar runs on: HTTP to its engine, the artifact cache, ZMQ. */
export interface RuntimeAdapters {
  engine: EngineClient;
  artifacts: ArtifactStore;
  kvTransport: KvEventTransport;
  /** Closes the artifact store (aborting downloads) and the engine connection pool. */
  close(): Promise<void>;
}

/** Builds the production adapters of one sidecar. */
export function createRuntimeAdapters(options: { engineUrl: string; artifacts: CreateArtifactStoreOptions }): RuntimeAdapters {
  const engine = createEngineClient(options.engineUrl);
  const artifacts = createArtifactStore(options.artifacts);
  return {
    engine,
    artifacts,
    kvTransport: createZmqKvTransport(),
    async close() {
      await artifacts.close();
      await engine.close();
    },
  };
}

/** Plain settings of one in-process sidecar (the embedded stack's way to run one beside each engine). */
export interface SidecarOptions {
  /** Served model name of the engine. */
  model: string;
  /** Engine instance name (the last token of its subjects). */
  pod: string;
  /** Base URL of the engine's HTTP server. */
  engineUrl: string;
  /** Port to listen on; 0 = any free port (the answer's `url` says which). */
  port: number;
  /** Address to listen on (default 127.0.0.1). */
  host?: string;
  /** Artifact cache directory (adapters downloaded for this engine). */
  cacheDir: string;
  /** The shared bus; an embedded stack passes `memoryBus.client()`. The sidecar never closes it. */
  bus: Bus;
  logger: Logger;
  clock: Clock;
  /** Metrics registry; default a new one for this sidecar (without Node process metrics). */
  registry?: Registry;
  /** The engine's KV-event publisher; absent: no bridge. */
  kvEvents?: KvEventsSettings;
  /** Directories local adapter paths may come from (default none: local artifact_urls are refused). */
  localRoots?: readonly string[];
  /** Hosts http(s) downloads may reach (default {@link DEFAULT_ALLOWED_HOSTS}). */
  allowedHosts?: readonly string[];
  gpuType?: string;
  maxNumSeqs?: number;
  /** Overrides of the scraping and engine-call defaults ({@link RUNTIME_DEFAULTS}). */
  timing?: Partial<RuntimeTiming>;
}

export interface StartedSidecar {
  /** Base URL the sidecar answers on. */
  readonly url: string;
  readonly runtime: Runtime;
  /** Stops the sidecar's loops and server and closes its adapters (not the bus). */
  close(): Promise<void>;
}

/**
 * Builds, listens and starts one sidecar beside an engine, in this process: the composition the
 * embedded stack uses (one per engine, each on its own `MemoryBus.client()`). Lifecycle events carry
 * the sidecar's URL (`sidecarUrl`).
 */
export async function startSidecar(options: SidecarOptions): Promise<StartedSidecar> {
  const timing: RuntimeTiming = { ...RUNTIME_DEFAULTS, ...options.timing };
  const logger = options.logger.child({ model: options.model, pod: options.pod });
  const adapters = createRuntimeAdapters({
    engineUrl: options.engineUrl,
    artifacts: {
      cacheDir: options.cacheDir,
      policy: {
        allowedSchemes: [...SUPPORTED_SCHEMES],
        allowedHosts: [...(options.allowedHosts ?? DEFAULT_ALLOWED_HOSTS)],
        allowedBuckets: ['*'],
        localRoots: [...(options.localRoots ?? [])],
      },
      clock: options.clock,
    },
  });
  const settings: RuntimeSettings = {
    model: options.model,
    pod: options.pod,
    engineUrl: options.engineUrl,
    ...timing,
    adminToken: '',
    ...(options.gpuType ? { gpuType: options.gpuType } : {}),
    ...(options.maxNumSeqs ? { maxNumSeqs: options.maxNumSeqs } : {}),
    ...(options.kvEvents?.endpoint ? { kvEvents: options.kvEvents } : {}),
  };
  const runtime = buildRuntime({
    settings,
    logger,
    registry: options.registry ?? createMetricsRegistry({ service: 'ai-runtime', processMetrics: false }),
    bus: options.bus,
    clock: options.clock,
    engine: adapters.engine,
    artifacts: adapters.artifacts,
    kvTransport: adapters.kvTransport,
    autoStart: false,
  });
  try {
    await runtime.app.listen({ host: options.host ?? '127.0.0.1', port: options.port });
  } catch (err) {
    await adapters.close();
    throw err;
  }
  const address = runtime.app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const host = options.host && options.host !== '0.0.0.0' && options.host !== '::' ? options.host : '127.0.0.1';
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  runtime.advertise(url);
  runtime.start();
  let closing: Promise<void> | undefined;
  return {
    url,
    runtime,
    close: () =>
      (closing ??= (async () => {
        await runtime.app.close();
        await adapters.close();
      })()),
  };
}
