// Wires config → adapters → buildApp(deps) → listen.
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createArtifactStore, credentialsFrom } from '@brix/artifacts';
import { connectBus } from '@brix/bus';
import { WallClock } from '@brix/clock';
import { loadConfigOrExit } from '@brix/config';
import { createLogger, createMetricsRegistry } from '@brix/observability';
import { buildApp } from './app';
import { runtimeSettings } from './config';
import { createEngineClient } from './engine-client';

async function main(): Promise<void> {
  const config = loadConfigOrExit(runtimeSettings);
  const pod = config.pod || hostname();
  const logger = createLogger({ service: 'ai-runtime', level: config.logLevel, base: { model: config.model, pod } });
  const registry = createMetricsRegistry({ service: 'ai-runtime' });
  const clock = new WallClock();
  const bus = await connectBus({
    natsUrl: config.natsUrl || undefined,
    name: `ai-runtime-${pod}`,
    onHandlerError: (err, subject) => logger.error({ err, subject }, 'bus handler failed'),
  });
  const engine = createEngineClient(config.engineUrl);
  const artifacts = createArtifactStore({
    cacheDir: config.cacheDir || join(tmpdir(), 'brix-artifacts'),
    policy: {
      allowedSchemes: config.allowedSchemes,
      allowedHosts: config.allowedHosts,
      allowedBuckets: config.allowedBuckets,
      localRoots: config.localRoots,
    },
    huggingface: { endpoint: config.hfEndpoint },
    s3: {
      ...(config.s3Endpoint ? { endpoint: config.s3Endpoint } : {}),
      region: config.s3Region,
      forcePathStyle: config.s3ForcePathStyle,
    },
    // Credentials leave the config here and travel only as Secrets.
    credentials: credentialsFrom({
      env: {
        huggingFaceToken: config.hfToken,
        awsAccessKeyId: config.awsAccessKeyId,
        awsSecretAccessKey: config.awsSecretAccessKey,
        awsSessionToken: config.awsSessionToken,
      },
      ...(config.secretsDir ? { secretsDir: config.secretsDir } : {}),
    }),
    clock,
    transfer: { concurrency: config.downloadConcurrency },
  });

  const app = buildApp({
    settings: {
      model: config.model,
      pod,
      engineUrl: config.engineUrl,
      engineKind: config.engineKind,
      scrapeIntervalMs: config.scrapeIntervalMs,
      scrapeTimeoutMs: config.scrapeTimeoutMs,
      rateWindowMs: config.rateWindowMs,
      healthTimeoutMs: config.healthTimeoutMs,
      ...(config.gpuType ? { gpuType: config.gpuType } : {}),
      ...(config.maxNumSeqs ? { maxNumSeqs: config.maxNumSeqs } : {}),
      adminToken: config.adminToken,
    },
    logger,
    registry,
    bus,
    clock,
    engine,
    artifacts,
  });
  await app.listen({ host: config.host, port: config.port });
  logger.info({ port: config.port, engine: config.engineUrl, bus: config.natsUrl ? 'nats' : 'memory' }, 'ai-runtime listening');

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'ai-runtime stopping');
    await app.close();
    await artifacts.close();
    await engine.close();
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
