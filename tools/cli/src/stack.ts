import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { performance } from 'node:perf_hooks';
import { type Bus, MemoryBus, NatsBus, publishEvent } from '@brix/bus';
import { Rng, WallClock } from '@brix/clock';
import { loadConfig } from '@brix/config';
import { EngineLifecycle } from '@brix/contracts';
import { type EngineInfo, MemoryEngineDirectory } from '@brix/discovery';
import { buildGateway, type Gateway, gatewaySettings, interpretEngineMetrics } from '@brix/gateway-core';
import { createLogger, createMetricsRegistry, type Logger } from '@brix/observability';
import { createRateLimiter, rateLimitSettings } from '@brix/ratelimit';
import { createRouter } from '@brix/routing';
import { LocalSupervisor, processLauncher, type Sidecar } from '@brix/supervisor';

/** What `brix up` starts. */
export interface StackOptions {
  /** Served model name clients use. */
  model: string;
  /** Engine-model catalogue id of the simulated model. */
  engineModel: string;
  gpuType: string;
  replicas: number;
  host: string;
  gatewayPort: number;
  /** First port tried for engines and for sidecars; the next free ones are used. */
  enginePortBase: number;
  sidecarPortBase: number;
  /** NATS server URL(s); empty = in-memory bus. */
  natsUrl: string;
  /** Bearer token for /admin/* of every service; generated when empty. */
  adminToken: string;
  /** The bundled engine-sim (dist/apps/engine-sim/main.cjs). */
  engineScript: string;
  /** Extra engine-sim flags, e.g. ['--max-num-seqs', '64']. */
  engineArgs: readonly string[];
  /** Default routing strategy of the gateway. */
  routingStrategy: string;
  logLevel: string;
  /** Starts a sidecar beside each ready engine; absent = the gateway scrapes engines itself. */
  attachSidecar?: (engine: EngineInfo, deps: { bus: Bus; port: number; adminToken: string; logger: Logger }) => Promise<Sidecar>;
}

export interface Stack {
  readonly gatewayUrl: string;
  readonly adminToken: string;
  readonly bus: 'memory' | 'nats';
  engines(): readonly EngineInfo[];
  close(): Promise<void>;
}

/** Finds a free TCP port at or above `from` on `host`, skipping ports already handed out. */
export function portAllocator(host: string, from: number): (preferred?: number) => Promise<number> {
  const given = new Set<number>();
  const free = (port: number) =>
    new Promise<boolean>((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(false));
      s.listen(port, host, () => s.close(() => resolve(true)));
    });
  /** The first free port from `preferred` (default: the base), else from the base; never one given before. */
  return async (preferred?: number) => {
    const starts = preferred !== undefined && preferred > from ? [preferred, from] : [from];
    for (const start of starts) {
      for (let port = start; port < from + 1000; port++) {
        if (given.has(port)) continue;
        if (await free(port)) {
          given.add(port);
          return port;
        }
      }
    }
    throw new Error(`no free port in ${from}–${from + 999} on ${host}`);
  };
}

/**
 * Starts the local stack in one process: the gateway, a local supervisor that launches engine-sim
 * replicas as child processes, and a sidecar beside each engine, all on one bus (in-memory by default,
 * NATS when a URL is given). `close()` stops everything and leaves no process behind.
 */
export async function startStack(o: StackOptions): Promise<Stack> {
  const clock = new WallClock();
  const logger = createLogger({ service: 'brix-stack', level: o.logLevel });
  const adminToken = o.adminToken || randomBytes(18).toString('base64url');
  const medium = o.natsUrl
    ? undefined
    : new MemoryBus({ onHandlerError: (err, subject) => logger.error({ err, subject }, 'bus handler failed') });
  const connect = async (name: string): Promise<Bus> =>
    medium
      ? medium.client()
      : NatsBus.connect({
          servers: o.natsUrl,
          name,
          onHandlerError: (err, subject) => logger.error({ err, subject }, 'bus handler failed'),
        });
  const buses: Bus[] = [];
  const busFor = async (name: string) => {
    const b = await connect(name);
    buses.push(b);
    return b;
  };

  const directory = new MemoryEngineDirectory();
  const stackBus = await busFor('brix-stack');
  const launcher = processLauncher({
    command: (spec) => ({
      file: process.execPath,
      args: [
        o.engineScript,
        '--host',
        o.host,
        '--port',
        String(spec.port),
        '--model',
        o.engineModel,
        '--served-model-name',
        spec.model,
        '--gpu-type',
        spec.gpuType ?? o.gpuType,
        '--seed',
        String(spec.port),
        ...o.engineArgs,
      ],
      env: { BRIX_ADMIN_TOKEN: adminToken, BRIX_LOG_LEVEL: o.logLevel === 'debug' ? 'info' : 'warn' },
    }),
    onOutput: (id, line) => logger.info({ engine: id }, line),
  });
  const sidecarPorts = portAllocator(o.host, o.sidecarPortBase);
  const supervisor = new LocalSupervisor({
    directory,
    launch: launcher.launch,
    allocatePort: portAllocator(o.host, o.enginePortBase),
    clock,
    announce: (e) => publishEvent(stackBus, EngineLifecycle, {}, e),
    onError: (err, id) => logger.error({ err, engine: id }, 'engine supervision error'),
    ...(o.attachSidecar
      ? {
          attachSidecar: async (engine: EngineInfo) =>
            o.attachSidecar!(engine, {
              bus: await busFor(`ai-runtime-${engine.id}`),
              // Beside engine port base + k, the sidecar takes sidecar base + k when it is free: 8000 ↔ 8080, 8001 ↔ 8081.
              port: await sidecarPorts(o.sidecarPortBase + (Number(new URL(engine.url).port) - o.enginePortBase)),
              adminToken,
              logger,
            }),
        }
      : {}),
  });
  supervisor.define(o.model, { gpuType: o.gpuType });

  const config = {
    ...loadConfig({ ...gatewaySettings, ...rateLimitSettings }, { env: {} }),
    host: o.host,
    port: o.gatewayPort,
    adminToken,
    defaultStrategy: o.routingStrategy,
    natsUrl: o.natsUrl,
  };
  let gateway: Gateway | undefined;
  let limiter: Awaited<ReturnType<typeof createRateLimiter>> | undefined;
  const close = async () => {
    await supervisor.close();
    launcher.killAll();
    await gateway?.close();
    await limiter?.close();
    for (const b of buses) await b.close();
    await medium?.close();
  };
  try {
    const gatewayBus = await busFor('gateway');
    const registry = createMetricsRegistry({ service: 'gateway' });
    const gatewayLogger = logger.child({ component: 'gateway' });
    limiter = await createRateLimiter({ bus: gatewayBus, clock, logger: gatewayLogger, config, registry });
    const rateLimiter = limiter;
    gateway = await buildGateway({
      config,
      logger: gatewayLogger,
      registry,
      bus: gatewayBus,
      directory,
      clock,
      rng: new Rng(Date.now() & 0x7fffffff),
      router: createRouter({ config: { defaultStrategy: o.routingStrategy }, timer: () => performance.now() }),
      interpretMetrics: interpretEngineMetrics(),
      admission: rateLimiter.admission,
      extensions: [(app) => rateLimiter.registerRoutes(app)],
      instance: 'gateway',
    });
    await gateway.app.listen({ host: o.host, port: o.gatewayPort });
    await supervisor.setReplicas(o.model, o.replicas);
  } catch (err) {
    await close();
    throw err;
  }
  return {
    gatewayUrl: `http://${o.host}:${o.gatewayPort}`,
    adminToken,
    bus: medium ? 'memory' : 'nats',
    engines: () => directory.list(),
    close,
  };
}
