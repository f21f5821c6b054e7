// Wires config → adapters → buildApp(deps) → listen.
import { connectBus } from '@brix/bus';
import { Rng, WallClock } from '@brix/clock';
import { exitOnStartupError, loadConfigOrExit } from '@brix/config';
import { gatewaySettings, interpretEngineMetrics } from '@brix/gateway-core';
import { createLogger, createMetricsRegistry } from '@brix/observability';
import { createRateLimiter, rateLimitSettings } from '@brix/ratelimit';
import { createRouter } from '@brix/routing';
import { performance } from 'node:perf_hooks';
import { buildApp } from './app';
import { createDirectory } from './wiring';

async function main(): Promise<void> {
  const config = loadConfigOrExit({ ...gatewaySettings, ...rateLimitSettings });
  const instance = config.instance || `gateway-${process.pid}`;
  const logger = createLogger({ service: 'gateway', level: config.logLevel, base: { instance } });
  const registry = createMetricsRegistry({ service: 'gateway' });
  const bus = await connectBus({
    natsUrl: config.natsUrl || undefined,
    name: instance,
    onHandlerError: (err, subject) => logger.error({ err, subject }, 'bus handler failed'),
  });
  const { directory, close: closeDirectory } = await createDirectory(config, bus, logger);
  const clock = new WallClock();
  const limiter = await createRateLimiter({ bus, clock, logger, config, registry });
  const router = createRouter({ config: { defaultStrategy: config.defaultStrategy }, timer: () => performance.now() });
  const gateway = await buildApp({
    config,
    logger,
    registry,
    bus,
    directory,
    clock,
    rng: new Rng(Date.now() & 0x7fffffff),
    router,
    interpretMetrics: interpretEngineMetrics(),
    admission: limiter.admission,
    extensions: [(app) => limiter.registerRoutes(app)],
    instance,
  });
  await gateway.app.listen({ host: config.host, port: config.port });
  logger.info({ port: config.port, directory: config.directory, engines: directory.list().length }, 'gateway listening');

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'gateway stopping');
    await gateway.close();
    await limiter.close();
    closeDirectory();
    await bus.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch(exitOnStartupError('gateway'));
