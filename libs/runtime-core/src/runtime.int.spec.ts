import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createArtifactStore, SUPPORTED_SCHEMES } from '@brix/artifacts';
import { type Bus, NatsBus, subscribeEvents } from '@brix/bus';
import { WallClock } from '@brix/clock';
import { EngineLifecycle, type EngineLifecycleEvent, EngineLoad, type EngineLoadSnapshot, subjectToken } from '@brix/contracts';
import { createLogger, createMetricsRegistry } from '@brix/observability';
import { type NatsServerHandle, startNatsServer, waitFor } from '@brix/testing';
import { createEngineClient } from './engine/engine-client';
import { buildRuntime } from './runtime';
import { type FixtureEngine, startFixtureEngine } from './testing/fixture-engine';

const MODEL = 'meta-llama/Llama-3.1-8B-Instruct';

describe('buildRuntime against a real nats-server', () => {
  let nats: NatsServerHandle;
  let observer: Bus;
  let engine: FixtureEngine;
  let snapshots: Array<{ subject: string; snapshot: EngineLoadSnapshot }>;
  let lifecycle: EngineLifecycleEvent[];

  beforeAll(async () => {
    nats = await startNatsServer();
  });
  afterAll(() => nats.dispose());

  beforeEach(async () => {
    engine = await startFixtureEngine(MODEL);
    observer = await NatsBus.connect({ servers: nats.url, name: 'observer' });
    snapshots = [];
    lifecycle = [];
    subscribeEvents(observer, EngineLoad, (snapshot, subject) => void snapshots.push({ subject, snapshot }));
    subscribeEvents(observer, EngineLifecycle, (e) => void lifecycle.push(e));
    await observer.flush();
  });
  afterEach(async () => {
    await observer.close();
    await engine.close();
  });

  it('publishes snapshots on brix.engine.load.<model>.<pod> that track the engine over time', async () => {
    const bus = await NatsBus.connect({ servers: nats.url, name: 'ai-runtime-test' });
    const client = createEngineClient(engine.url);
    const artifacts = createArtifactStore({
      cacheDir: mkdtempSync(join(tmpdir(), 'brix-runtime-int-')),
      policy: { allowedSchemes: [...SUPPORTED_SCHEMES], allowedHosts: [], allowedBuckets: [], localRoots: [] },
    });
    const { app } = buildRuntime({
      settings: {
        model: MODEL,
        pod: 'engine-0',
        engineUrl: engine.url,
        engineKind: 'vllm',
        scrapeIntervalMs: 100,
        scrapeTimeoutMs: 2000,
        rateWindowMs: 0,
        healthTimeoutMs: 1000,
        adminToken: '',
      },
      logger: createLogger({ service: 'ai-runtime', level: 'silent' }),
      registry: createMetricsRegistry({ service: 'ai-runtime', processMetrics: false }),
      bus,
      clock: new WallClock(),
      engine: client,
      artifacts,
    });
    try {
      Object.assign(engine.state, { running: 2, waiting: 0, kvUsage: 0.1 });
      await app.listen({ host: '127.0.0.1', port: 0 });
      const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;

      const first = await waitFor(() => snapshots.find((s) => s.snapshot.running === 2), 'a snapshot with 2 running');
      expect(first.subject).toBe(`brix.engine.load.${subjectToken(MODEL)}.engine-0`);
      expect(first.snapshot).toMatchObject({ model: MODEL, pod: 'engine-0', engine: 'vllm', kvUsage: 0.1 });

      // Load rises: more running, a queue, tokens flowing.
      Object.assign(engine.state, { running: 9, waiting: 3, kvUsage: 0.8, promptTokens: 50_000, generationTokens: 4000 });
      const busy = await waitFor(
        () => snapshots.find((s) => s.snapshot.running === 9 && s.snapshot.promptTokensPerSec > 0),
        'the rise',
      );
      expect(busy.snapshot).toMatchObject({ waiting: 3, kvUsage: 0.8 });

      // …and falls again.
      Object.assign(engine.state, { running: 1, waiting: 0, kvUsage: 0.2 });
      await waitFor(() => snapshots.find((s) => s.snapshot.running === 1 && s.snapshot.kvUsage === 0.2), 'the fall');

      // Snapshots come in time order, one per scrape, and never carry a negative rate.
      const ts = snapshots.map((s) => s.snapshot.ts);
      expect(ts).toEqual([...ts].sort((a, b) => a - b));
      expect(snapshots.every((s) => s.snapshot.promptTokensPerSec >= 0 && s.snapshot.generationTokensPerSec >= 0)).toBe(true);

      // An engine restart (counters back to small values) is announced, and rates stay non-negative.
      Object.assign(engine.state, { promptTokens: 10, generationTokens: 5 });
      await waitFor(() => lifecycle.find((e) => e.phase === 'restarted'), 'the restart event');
      expect(snapshots.every((s) => s.snapshot.promptTokensPerSec >= 0)).toBe(true);

      // Over real HTTP: the standardized metrics and readiness.
      const metrics = await (await fetch(`${base}/metrics`)).text();
      expect(metrics).toMatch(
        /^brix_engine_requests_running\{model="meta-llama\/Llama-3\.1-8B-Instruct",pod="engine-0",engine="vllm",service="ai-runtime"\} 1$/m,
      );
      expect((await fetch(`${base}/readyz`)).status).toBe(200);
      engine.state.healthStatus = 503;
      expect((await fetch(`${base}/readyz`)).status).toBe(503);
    } finally {
      await app.close();
      await artifacts.close();
      await client.close();
      await bus.close();
    }
  });
});
