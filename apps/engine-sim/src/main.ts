// Wires config → adapters → buildApp(deps) → listen.
import { WallClock } from '@brix/clock';
import { ConfigError } from '@brix/config';
import { EngineConfigError, resolveEngineConfig } from '@brix/engine-model';
import { createLogger } from '@brix/observability';
import { llama3Tokenizer } from '@brix/tokenizer';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { buildApp } from './app';
import { ScaledClock } from './clock/scaled-clock';
import { engineConfigFrom, loadSimConfig, parseLoraModules, resolveKvEventsConfig, runtimeLoraUpdatingEnabled } from './config';
import { type KvEventSink } from './kv-events/sink';
import { ZmqKvEventPublisher } from './kv-events/zmq-publisher';

function startupConfig() {
  try {
    const config = loadSimConfig(process.argv.slice(2), process.env);
    return {
      config,
      kv: resolveKvEventsConfig(config.kvEventsConfig, config.vllmVersion),
      engine: resolveEngineConfig(engineConfigFrom(config)),
    };
  } catch (err) {
    if (err instanceof ConfigError || err instanceof EngineConfigError) {
      process.stderr.write(`engine-sim: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}

async function main(): Promise<void> {
  const { config, kv, engine } = startupConfig();
  const served = config.servedModelNames.length > 0 ? config.servedModelNames : [config.model];
  const logger = createLogger({ service: 'engine-sim', level: config.logLevel, base: { model: served[0] } });
  // vLLM's label sets are exact, so no default labels; process_start_time_seconds keeps its bare name.
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const wall = new WallClock();
  const clock = new ScaledClock(config.timeScale);

  let kvEvents: KvEventSink | undefined;
  if (kv.enabled && !engine.enablePrefixCaching) logger.warn('KV-cache events need prefix caching; none will be published');
  else if (kv.enabled && kv.publisher === 'null') {
    logger.warn(
      { vllmVersion: config.vllmVersion },
      'KV-cache events enabled with the "null" publisher (this version\'s default)',
    );
  } else if (kv.enabled) {
    kvEvents = await ZmqKvEventPublisher.open({ config: kv, wall, logger });
  }

  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  const app = buildApp({
    settings: {
      servedModelNames: served,
      modelRoot: config.model,
      vllmVersion: config.vllmVersion,
      showHiddenMetricsForVersion: config.showHiddenMetricsForVersion,
      runtimeLoraUpdating: runtimeLoraUpdatingEnabled(config.allowRuntimeLoraUpdating),
      forceIncludeUsage: config.enableForceIncludeUsage,
      promptTokensDetails: config.enablePromptTokensDetails,
      estimateTokens: config.estimateTokens,
      embeddingSize: config.embeddingSize,
      startupDelayMs: config.startupDelayMs,
      faults: {
        errorRate: config.errorRate,
        errorStatus: config.errorStatus,
        latencySpikeRate: config.latencySpikeRate,
        latencySpikeMs: config.latencySpikeMs,
        stalled: config.stalled,
        crashAfterRequests: config.crashAfterRequests,
      },
      loraModules: parseLoraModules(config.loraModules),
      adminToken: config.adminToken,
      maxBodyBytes: config.maxBodyBytes,
    },
    engineConfig: engine,
    clock,
    wall,
    tokenizer: llama3Tokenizer,
    logger,
    registry,
    ...(kvEvents ? { kvEvents } : {}),
    exit: (code) => process.exit(code),
    onReady: () => markReady(),
  });

  await app.listen({ host: config.host, port: config.port });
  await ready;
  const address = app.server.address();
  logger.info(
    {
      port: typeof address === 'object' && address ? address.port : config.port,
      served,
      gpu: engine.gpu.id,
      numGpuBlocks: engine.numGpuBlocks,
      maxModelLen: engine.maxModelLen,
      vllmVersion: config.vllmVersion,
      timeScale: config.timeScale,
      estimateTokens: config.estimateTokens,
      kvEvents: kvEvents instanceof ZmqKvEventPublisher ? (kvEvents.boundEndpoint ?? kv.endpoint) : null,
    },
    'engine-sim ready',
  );

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'engine-sim stopping');
    await app.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`engine-sim failed to start: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
});
