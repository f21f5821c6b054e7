// Wires config → adapters → buildRuntime(deps) → listen.
import { hostname } from 'node:os';
import { connectBus } from '@brix/bus';
import { WallClock } from '@brix/clock';
import { loadConfigOrExit } from '@brix/config';
import { createLogger, createMetricsRegistry } from '@brix/observability';
import { buildRuntime, createRuntimeAdapters } from '@brix/runtime-core';
import { runtimeSettings, toArtifactOptions, toRuntimeSettings } from './config';

async function main(): Promise<void> {
  const config = loadConfigOrExit(runtimeSettings);
  const pod = config.pod || hostname();
  const logger = createLogger({ service: 'ai-runtime', level: config.logLevel, base: { model: config.model, pod } });
  const clock = new WallClock();
  const bus = await connectBus({
    natsUrl: config.natsUrl || undefined,
    name: `ai-runtime-${pod}`,
    onHandlerError: (err, subject) => logger.error({ err, subject }, 'bus handler failed'),
  });
  const adapters = createRuntimeAdapters({ engineUrl: config.engineUrl, artifacts: toArtifactOptions(config, clock) });
  const { app } = buildRuntime({
    settings: toRuntimeSettings(config, pod),
    logger,
    registry: createMetricsRegistry({ service: 'ai-runtime' }),
    bus,
    clock,
    engine: adapters.engine,
    artifacts: adapters.artifacts,
    kvTransport: adapters.kvTransport,
  });
  await app.listen({ host: config.host, port: config.port });
  logger.info(
    {
      port: config.port,
      engine: config.engineUrl,
      bus: config.natsUrl ? 'nats' : 'memory',
      kvEvents: config.kvEventsEndpoint || 'off',
    },
    'ai-runtime listening',
  );

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'ai-runtime stopping');
    await app.close();
    await adapters.close();
    await bus.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`ai-runtime failed to start: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
});
