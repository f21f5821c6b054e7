import { type Clock, Rng, type TimerHandle } from '@brix/clock';
import { type EngineConfig, type ResolvedEngineConfig, SimEngine, resolveEngineConfig } from '@brix/engine-model';
import { type HttpApp, createHttpApp } from '@brix/http';
import { type Logger } from '@brix/observability';
import { type Tokenizer } from '@brix/tokenizer';
import { type Registry } from 'prom-client';
import { VLLM_RELEASE, type VllmVersion } from './config';
import { AdminConfigPatch, AdminConfigView, FaultInjector, type FaultSettings } from './faults';
import { type KvEventSink } from './kv-events/sink';
import { VllmMetrics, cacheConfigLabels } from './metrics/vllm-metrics';
import { type ServingContext, registerVllmRoutes } from './openai/routes';
import { estimatingPromptEncoder, exactPromptEncoder } from './prompt';
import { SyntheticText } from './text';

/** The engine's clock: a Clock that can stand still (stall fault) and change speed (time scale). */
export interface SimClock extends Clock {
  pause(): void;
  resume(): void;
  readonly paused: boolean;
  setScale(scale: number): void;
  /** Wall seconds per simulated second. */
  readonly scale: number;
}

export interface EngineSimSettings {
  /** Names the base model answers to (≥ 1); the first is the `model_name` label and the name in responses. */
  servedModelNames: string[];
  /** The `--model` value, shown as the base model card's `root`. */
  modelRoot: string;
  vllmVersion: VllmVersion;
  showHiddenMetricsForVersion: string;
  /** VLLM_ALLOW_RUNTIME_LORA_UPDATING: registers /v1/load_lora_adapter and /v1/unload_lora_adapter. */
  runtimeLoraUpdating: boolean;
  forceIncludeUsage: boolean;
  promptTokensDetails: boolean;
  /** Benchmark mode: estimate prompt tokens from bytes instead of BPE. */
  estimateTokens: boolean;
  /** Embedding length; 0 = the model's hidden size. */
  embeddingSize: number;
  /** /health answers 503 (and inference 503) for this long after buildApp, wall ms. */
  startupDelayMs: number;
  faults: FaultSettings;
  /** Adapters loaded at start (`--lora-modules name=path`); the engine config must list the same names. */
  loraModules: Array<{ name: string; path: string }>;
  adminToken: string;
  maxBodyBytes: number;
}

export interface EngineSimDeps {
  settings: EngineSimSettings;
  engineConfig: EngineConfig | ResolvedEngineConfig;
  /** Runs the engine model (a ScaledClock in a process). */
  clock: SimClock;
  /** Epoch time: `created` fields, KV-event timestamps, `_created` series, the start-up delay. */
  wall: Clock;
  tokenizer: Tokenizer;
  logger: Logger;
  /** Receives vLLM's metric families (use a registry without default labels: vLLM's label sets are exact). */
  registry: Registry;
  /** Where KV-cache events go; absent = events off (the engine does not even record them). */
  kvEvents?: KvEventSink;
  /** The crash fault calls it with 1 (a process passes process.exit). */
  exit?: (code: number) => void;
  /** Called once when the engine is ready (at once, or after the start-up delay). */
  onReady?: () => void;
}

/**
 * engine-sim: the engine model behind vLLM's OpenAI-compatible HTTP protocol.
 *
 * vLLM routes (vLLM's error bodies): `POST /v1/chat/completions`, `/v1/completions`, `/v1/embeddings`,
 * `GET /v1/models`, `POST /v1/load_lora_adapter` and `/v1/unload_lora_adapter` (runtime LoRA updating only),
 * `POST /tokenize`, `/detokenize`, `GET /health`, `GET|POST /ping`, `GET /version`, `GET /load`,
 * `POST /reset_prefix_cache`, `GET /metrics` (vLLM's names). Brix routes: `/healthz`, `/readyz`,
 * `GET|PATCH /admin/config` (fault knobs and time scale, bearer token).
 */
export function buildApp(deps: EngineSimDeps): HttpApp {
  const { settings, clock, wall, tokenizer, logger, registry, kvEvents } = deps;
  const config = 'numGpuBlocks' in deps.engineConfig ? deps.engineConfig : resolveEngineConfig(deps.engineConfig);
  const numGpuBlocksOverride = 'numGpuBlocks' in deps.engineConfig ? null : (deps.engineConfig.numGpuBlocksOverride ?? null);
  const text = new SyntheticText(tokenizer);

  const metrics = new VllmMetrics({
    registry,
    modelName: settings.servedModelNames[0]!,
    version: settings.vllmVersion,
    showHiddenMetricsForVersion: settings.showHiddenMetricsForVersion,
    maxModelLen: config.maxModelLen,
    lora: { enabled: config.enableLora, maxLoras: config.maxLoras },
    cacheConfig: cacheConfigLabels({
      blockSize: config.blockSize,
      gpuMemoryUtilization: config.gpuMemoryUtilization,
      numGpuBlocks: config.numGpuBlocks,
      numGpuBlocksOverride,
      enablePrefixCaching: config.enablePrefixCaching,
    }),
    // Read at scrape time, after the engine below exists.
    snapshot: () => engine.snapshot(),
    wall,
  });
  const engine = new SimEngine(config, {
    clock,
    tokenSource: text.tokenSource,
    onStep: (step) => metrics.observeStep(step),
    ...(kvEvents ? { onKvEvents: (batch) => kvEvents.publish(batch) } : {}),
  });

  // The stall fault stops the engine's clock: no step ends, no token comes, until it is lifted.
  const faults = new FaultInjector(settings.faults, new Rng(config.seed ^ 0x5eed), (stalled) => {
    if (stalled) clock.pause();
    else clock.resume();
    logger.warn({ stalled }, stalled ? 'engine stalled (fault)' : 'engine resumed');
  });

  let ready = settings.startupDelayMs <= 0;
  let startTimer: TimerHandle | null = null;
  if (ready) deps.onReady?.();
  else {
    startTimer = wall.setTimer(settings.startupDelayMs, () => {
      startTimer = null;
      ready = true;
      deps.onReady?.();
    });
  }

  const ctx: ServingContext = {
    settings: {
      servedModelNames: settings.servedModelNames,
      modelRoot: settings.modelRoot,
      maxModelLen: config.maxModelLen,
      vocabSize: config.model.vocabSize,
      release: VLLM_RELEASE[settings.vllmVersion],
      runtimeLoraUpdating: settings.runtimeLoraUpdating,
      forceIncludeUsage: settings.forceIncludeUsage,
      promptTokensDetails: settings.promptTokensDetails,
      embeddingSize: settings.embeddingSize > 0 ? settings.embeddingSize : config.model.hiddenSize,
      seed: config.seed,
    },
    engine,
    text,
    tokenizer,
    encoder: settings.estimateTokens ? estimatingPromptEncoder() : exactPromptEncoder(tokenizer),
    metrics,
    faults,
    clock,
    wall,
    adapterPaths: new Map(settings.loraModules.map((m) => [m.name, m.path])),
    health: () => ({ ready, stalled: faults.settings.stalled }),
    exit: deps.exit ?? (() => undefined),
    load: { inFlight: 0 },
    logger,
  };

  const app = createHttpApp({
    service: 'engine-sim',
    logger,
    registry,
    adminToken: settings.adminToken,
    bodyLimit: settings.maxBodyBytes,
    // vLLM's /metrics has no Brix HTTP histogram; leaving it out also keeps the hot path lean.
    requestMetrics: false,
    readiness: () =>
      !ready
        ? { ready: false, reason: 'starting' }
        : faults.settings.stalled
          ? { ready: false, reason: 'stalled' }
          : { ready: true },
  });

  registerVllmRoutes(app, ctx);

  const view = (): AdminConfigView => ({
    ...faults.settings,
    timeScale: clock.scale,
    ready,
    inferenceRequests: faults.inferenceRequests,
  });
  app.get('/admin/config', { schema: { response: { 200: AdminConfigView } } }, async () => view());
  app.patch('/admin/config', { schema: { body: AdminConfigPatch, response: { 200: AdminConfigView } } }, async (request) => {
    const { timeScale, ...knobs } = request.body;
    if (timeScale !== undefined) clock.setScale(timeScale);
    faults.update(knobs);
    logger.info({ config: request.body }, 'runtime config changed');
    return view();
  });

  app.addHook('onClose', async () => {
    if (startTimer) wall.clearTimer(startTimer);
    clock.resume();
    engine.stop();
    await kvEvents?.close();
  });

  return app;
}
