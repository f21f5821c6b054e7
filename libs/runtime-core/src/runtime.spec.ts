import { mkdirSync, mkdtempSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ArtifactStore, createArtifactStore, credentialsFrom, SUPPORTED_SCHEMES } from '@brix/artifacts';
import { MemoryBus, subscribeEvents } from '@brix/bus';
import { VirtualClock } from '@brix/clock';
import { EngineLifecycle, type EngineLifecycleEvent, EngineLoad, type EngineLoadSnapshot } from '@brix/contracts';
import { parsePrometheusText } from '@brix/engine-metrics';
import { createLogger, createMetricsRegistry } from '@brix/observability';
import { waitFor } from '@brix/testing';
import { Writable } from 'node:stream';
import { createEngineClient } from './engine/engine-client';
import { buildRuntime, type Runtime, type RuntimeDeps } from './runtime';
import { createFakeEngineApi, type FakeEngineApi } from './testing/fake-engine-api';
import { type FixtureEngine, startFixtureEngine } from './testing/fixture-engine';

const buildApp = (deps: RuntimeDeps) => buildRuntime(deps).app;

const MODEL = 'meta-llama/Llama-3.1-8B-Instruct';

describe('buildRuntime (the ai-runtime sidecar)', () => {
  const root = mkdtempSync(join(tmpdir(), 'brix-runtime-'));
  const models = join(root, 'models');
  mkdirSync(join(models, 'sql-lora'), { recursive: true });
  writeFileSync(join(models, 'sql-lora', 'adapter_config.json'), '{"r":8}');

  let engine: FixtureEngine;
  let clock: VirtualClock;
  let bus: MemoryBus;
  let app: ReturnType<typeof buildApp>;
  let snapshots: EngineLoadSnapshot[];
  let lifecycle: EngineLifecycleEvent[];
  let logged: string;
  let closers: Array<() => Promise<unknown>>;

  beforeEach(async () => {
    engine = await startFixtureEngine(MODEL);
    clock = new VirtualClock(1_764_100_000_000);
    bus = new MemoryBus();
    snapshots = [];
    lifecycle = [];
    logged = '';
    subscribeEvents(bus, EngineLoad, (s) => void snapshots.push(s));
    subscribeEvents(bus, EngineLifecycle, (e) => void lifecycle.push(e));
    const client = createEngineClient(engine.url);
    const artifacts = createArtifactStore({
      cacheDir: join(root, `cache-${Math.random().toString(36).slice(2)}`),
      policy: {
        allowedSchemes: [...SUPPORTED_SCHEMES],
        allowedHosts: ['huggingface.co'],
        allowedBuckets: ['*'],
        localRoots: [models],
      },
    });
    const destination = new Writable({
      write(chunk, _e, cb) {
        logged += chunk.toString();
        cb();
      },
    });
    app = buildApp({
      settings: {
        model: MODEL,
        pod: 'engine-0',
        engineUrl: engine.url,
        engineKind: 'auto',
        scrapeIntervalMs: 100,
        scrapeTimeoutMs: 1000,
        rateWindowMs: 0,
        healthTimeoutMs: 1000,
        gpuType: 'H100',
        adminToken: '',
      },
      logger: createLogger({ service: 'ai-runtime', destination }),
      registry: createMetricsRegistry({ service: 'ai-runtime', processMetrics: false }),
      bus,
      clock,
      engine: client,
      artifacts,
    });
    closers = [() => app.close(), () => artifacts.close(), () => client.close(), () => bus.close(), () => engine.close()];
  });
  afterEach(async () => {
    for (const c of closers) await c();
  });

  /** Advances the virtual clock to the next scrape and waits for its snapshot. */
  async function scrape(): Promise<EngineLoadSnapshot> {
    const before = engine.scrapes;
    const seen = snapshots.length;
    clock.advance(100);
    await waitFor(() => engine.scrapes > before, 'the next scrape');
    await waitFor(() => snapshots.length > seen, 'a snapshot on the bus');
    return snapshots.at(-1)!;
  }

  it('publishes a snapshot per scrape on the clock, translated from the engine and tracking its changes', async () => {
    Object.assign(engine.state, {
      running: 2,
      waiting: 1,
      kvUsage: 0.25,
      promptTokens: 1000,
      prefixQueries: 800,
      prefixHits: 200,
    });
    await app.ready();
    clock.advance(0);
    await waitFor(() => snapshots.length === 1, 'the first snapshot');
    expect(snapshots[0]).toMatchObject({
      v: 1,
      model: MODEL,
      pod: 'engine-0',
      url: engine.url,
      engine: 'vllm',
      gpuType: 'H100',
      ts: 1_764_100_000_000,
      running: 2,
      waiting: 1,
      kvUsage: 0.25,
      promptTokensPerSec: 0, // no interval yet
      loadedAdapters: [],
    });

    Object.assign(engine.state, { running: 7, kvUsage: 0.5, promptTokens: 1300, prefixQueries: 1000, prefixHits: 350 });
    engine.state.ttft = { sum: 0.9, count: 3 };
    engine.state.adapters = { running: ['sql-lora'], waiting: ['chat-lora'] };
    const next = await scrape();
    expect(next).toMatchObject({
      ts: 1_764_100_000_100,
      running: 7,
      kvUsage: 0.5,
      promptTokensPerSec: 3000, // 300 tokens in 100 ms
      prefixHitRate: 0.75, // 150 hits / 200 queries
      ttftMs: 300, // 0.9 s / 3 requests
      loadedAdapters: ['chat-lora', 'sql-lora'], // from the newest info series, not the stale one
    });
    expect(lifecycle.map((e) => e.phase)).toEqual(['ready']);
  });

  it('serves the standardized metrics under Brix names on /metrics', async () => {
    Object.assign(engine.state, { running: 3, waiting: 4, kvUsage: 0.125, generationTokens: 42 });
    await app.ready();
    clock.advance(0);
    await waitFor(() => snapshots.length === 1, 'the first snapshot');
    const res = await app.inject('/metrics');
    const parsed = parsePrometheusText(res.body);
    expect(parsed.skipped).toEqual([]);
    const labels = { model: MODEL, pod: 'engine-0', engine: 'vllm', service: 'ai-runtime' };
    expect(parsed.samples.get('brix_engine_requests_running')).toEqual([{ labels, value: 3 }]);
    expect(parsed.samples.get('brix_engine_requests_waiting')?.[0]?.value).toBe(4);
    expect(parsed.samples.get('brix_engine_kv_cache_usage_ratio')?.[0]?.value).toBe(0.125);
    expect(parsed.samples.get('brix_engine_generation_tokens_total')?.[0]?.value).toBe(42);
    expect(parsed.histograms.get('brix_engine_time_to_first_token_seconds')?.[0]?.labels).toEqual(labels);
    expect(parsed.samples.get('brix_runtime_scrapes_total')?.[0]).toMatchObject({ labels: { result: 'ok' }, value: 1 });
    expect(parsed.samples.get('brix_runtime_engine_up')?.[0]?.value).toBe(1);
    expect(parsed.types.get('brix_engine_prompt_tokens_total')).toBe('counter');
    // No engine-specific names leak through.
    expect(res.body).not.toContain('vllm:');
  });

  it('announces not-ready after repeated scrape failures, and ready again when they recover', async () => {
    await app.ready();
    clock.advance(0);
    await waitFor(() => snapshots.length === 1, 'the first snapshot');
    engine.state.metricsStatus = 500;
    for (let i = 0; i < 3; i++) {
      const before = engine.scrapes;
      clock.advance(100);
      await waitFor(() => engine.scrapes > before, 'a failing scrape');
    }
    await waitFor(() => lifecycle.length === 2, 'the not-ready event');
    expect(lifecycle[1]).toMatchObject({
      phase: 'not-ready',
      reason: `engine at ${new URL(engine.url).host} answered 500 on /metrics`,
    });
    expect(logged).toContain('engine scrapes failing');
    engine.state.metricsStatus = 200;
    await scrape();
    expect(lifecycle.map((e) => e.phase)).toEqual(['ready', 'not-ready', 'ready']);
  });

  it('announces a restart when the engine counters go back', async () => {
    engine.state.promptTokens = 5000;
    await app.ready();
    clock.advance(0);
    await waitFor(() => snapshots.length === 1, 'the first snapshot');
    engine.state.promptTokens = 100;
    const after = await scrape();
    expect(after.promptTokensPerSec).toBe(1000); // 100 tokens counted by the new process in 100 ms
    expect(lifecycle.map((e) => e.phase)).toEqual(['ready', 'restarted']);
  });

  /** Closes the fixture engine and lets three scrapes find nobody (the engine process is gone). */
  async function engineGone(): Promise<number> {
    const port = Number(new URL(engine.url).port);
    await engine.close();
    const failedScrapes = async () =>
      parsePrometheusText((await app.inject('/metrics')).body)
        .samples.get('brix_runtime_scrapes_total')
        ?.find((x) => x.labels['result'] === 'error')?.value ?? 0;
    for (let i = 1; i <= 3; i++) {
      clock.advance(100);
      await waitFor(async () => (await failedScrapes()) === i, `failed scrape ${i}`);
    }
    return port;
  }

  it('announces a restart when the engine was unreachable and came back without a start time to compare', async () => {
    await app.ready();
    clock.advance(0);
    await waitFor(() => snapshots.length === 1, 'the first snapshot');
    const port = await engineGone();
    expect(lifecycle.at(-1)).toMatchObject({ phase: 'not-ready', reason: expect.stringMatching(/unreachable/) });
    // Counters equal (all zero) before and after: only the absence tells a new process.
    engine = await startFixtureEngine(MODEL, { port });
    closers.push(() => engine.close());
    await scrape();
    expect(lifecycle.map((e) => [e.phase, e.reason])).toEqual([
      ['ready', undefined],
      ['not-ready', expect.stringMatching(/unreachable/)],
      ['restarted', 'engine was unreachable and came back'],
      ['ready', undefined],
    ]);
  });

  it('announces no restart when the engine came back with the same process start time', async () => {
    engine.state.startTime = 1_764_000_000;
    await app.ready();
    clock.advance(0);
    await waitFor(() => snapshots.length === 1, 'the first snapshot');
    const port = await engineGone();
    // The same process answering again (a network blip): its start time says so.
    engine = await startFixtureEngine(MODEL, { port, state: { ...engine.state } });
    closers.push(() => engine.close());
    await scrape();
    expect(lifecycle.map((e) => e.phase)).toEqual(['ready', 'not-ready', 'ready']);
  });

  it.each([
    ['the engine answers /health', 200, 200, { status: 'ready' }],
    ['the engine reports itself dead', 503, 503, { status: 'not-ready', reason: 'engine health check answered 503' }],
  ])('answers /readyz when %s', async (_case, health, status, body) => {
    engine.state.healthStatus = health;
    const res = await app.inject('/readyz');
    expect(res.statusCode).toBe(status);
    expect(res.json()).toEqual(body);
  });

  it('answers /readyz 503 when the engine is unreachable, while /healthz stays 200', async () => {
    await engine.close();
    const res = await app.inject('/readyz');
    expect(res.statusCode).toBe(503);
    expect(res.json().reason).toMatch(/^engine unreachable/);
    expect((await app.inject('/healthz')).statusCode).toBe(200);
  });

  describe('artifact API', () => {
    const source = join(models, 'sql-lora');

    it('downloads and waits when asked, then lists the artifact as complete', async () => {
      const res = await app.inject({ method: 'POST', url: '/v1/model/download', payload: { source, wait: true } });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ status: 'complete', source: `file://${source}`, files: 1 });
      const list = await app.inject('/v1/model/list');
      expect(list.json()).toEqual({ object: 'list', data: [res.json()] });
      // A second request is answered from the cache at once.
      const again = await app.inject({ method: 'POST', url: '/v1/model/download', payload: { source } });
      expect(again.statusCode).toBe(200);
      expect(again.json().key).toBe(res.json().key);
    });

    it('answers 202 at once without wait, and the download completes in the background', async () => {
      const res = await app.inject({ method: 'POST', url: '/v1/model/download', payload: { source: `file://${source}` } });
      expect(res.statusCode).toBe(202);
      expect(res.json()).toMatchObject({ status: 'downloading' });
      await waitFor(async () => (await app.inject('/v1/model/list')).json().data[0]?.status === 'complete', 'the download');
    });

    it('never shows a hub token in answers or logs, even when the download fails', async () => {
      const token = 'hf_sidecar_secret_token';
      const hub = createArtifactStore({
        cacheDir: join(root, `cache-hf-${Math.random().toString(36).slice(2)}`),
        policy: { allowedSchemes: ['huggingface'], allowedHosts: ['127.0.0.1'], allowedBuckets: [], localRoots: [] },
        // Nothing listens on port 9 (discard): the hub is unreachable.
        huggingface: { endpoint: 'http://127.0.0.1:9' },
        credentials: credentialsFrom({ env: { huggingFaceToken: token } }),
        transfer: { retries: 0 },
      });
      const localClient = createEngineClient(engine.url);
      const local = buildApp({
        settings: {
          model: MODEL,
          pod: 'engine-1',
          engineUrl: engine.url,
          engineKind: 'auto',
          scrapeIntervalMs: 100,
          scrapeTimeoutMs: 1000,
          rateWindowMs: 0,
          healthTimeoutMs: 1000,
          adminToken: '',
        },
        logger: createLogger({
          service: 'ai-runtime',
          level: 'trace',
          destination: new Writable({
            write(chunk, _e, cb) {
              logged += chunk.toString();
              cb();
            },
          }),
        }),
        registry: createMetricsRegistry({ service: 'ai-runtime', processMetrics: false }),
        bus,
        clock,
        engine: localClient,
        artifacts: hub,
      });
      closers.unshift(
        () => local.close(),
        () => hub.close(),
        () => localClient.close(),
      );
      const res = await local.inject({
        method: 'POST',
        url: '/v1/model/download',
        payload: { source: 'huggingface://acme/tiny', wait: true },
      });
      expect(res.statusCode).toBe(502);
      const list = await local.inject('/v1/model/list');
      await waitFor(() => logged.includes('artifact download failed'), 'the failure log line');
      for (const text of [res.body, list.body, logged]) expect(text).not.toContain(token);
    });

    it.each([
      ['a host off the allow-list', { source: 'https://example.org/x.bin' }, 403, 'permission_denied', /not on the allow-list/],
      ['a metadata address', { source: 'http://169.254.169.254/latest/meta-data/' }, 403, 'permission_denied', /link-local/],
      ['an unsupported scheme', { source: 'ftp://example.org/x' }, 403, 'permission_denied', /scheme "ftp"/],
      ['a local path outside the roots', { source: '/etc' }, 403, 'permission_denied', /outside the allowed roots/],
      ['a malformed source', { source: 'not a uri' }, 400, 'invalid_request', /Invalid artifact source/],
      ['a missing source', {}, 400, 'invalid_request', /source/],
      ['a wrong type', { source: 'huggingface://a/b', wait: 'yes' }, 400, 'invalid_request', /wait/],
      ['a local path that does not exist', { source: join(models, 'nope'), wait: true }, 404, 'not_found', /not found/],
    ])('refuses %s with an OpenAI-style error', async (_case, payload, status, code, message) => {
      const res = await app.inject({ method: 'POST', url: '/v1/model/download', payload });
      expect(res.statusCode).toBe(status);
      expect(res.json().error).toMatchObject({ code, type: expect.any(String) });
      expect(res.json().error.message).toMatch(message);
    });
  });
});

describe('buildRuntime adapter API', () => {
  const root = mkdtempSync(join(tmpdir(), 'brix-runtime-adapters-'));
  const models = join(root, 'models');
  mkdirSync(join(models, 'sql-lora'), { recursive: true });
  writeFileSync(join(models, 'sql-lora', 'adapter_config.json'), '{"r":8}');

  let engine: FakeEngineApi;
  let clock: VirtualClock;
  let bus: MemoryBus;
  let runtime: Runtime;
  let snapshots: EngineLoadSnapshot[];
  let artifacts: ArtifactStore;

  beforeEach(() => {
    engine = createFakeEngineApi(MODEL);
    artifacts = createArtifactStore({
      cacheDir: mkdtempSync(join(tmpdir(), 'brix-runtime-adapter-cache-')),
      policy: { allowedSchemes: [...SUPPORTED_SCHEMES], allowedHosts: [], allowedBuckets: [], localRoots: [models] },
    });
    clock = new VirtualClock(1_764_100_000_000);
    bus = new MemoryBus();
    snapshots = [];
    subscribeEvents(bus, EngineLoad, (s) => void snapshots.push(s));
    runtime = buildRuntime({
      settings: {
        model: MODEL,
        pod: 'engine-0',
        engineUrl: 'http://engine.invalid',
        engineKind: 'vllm',
        scrapeIntervalMs: 100,
        scrapeTimeoutMs: 1000,
        rateWindowMs: 0,
        healthTimeoutMs: 1000,
        adminToken: '',
        adapterPollIntervalMs: 0,
      },
      logger: createLogger({ service: 'ai-runtime', level: 'silent' }),
      registry: createMetricsRegistry({ service: 'ai-runtime', processMetrics: false }),
      bus,
      clock,
      engine,
      artifacts,
    });
  });
  afterEach(async () => {
    await runtime.app.close();
    await artifacts.close();
    await bus.close();
  });

  const post = (url: string, payload: unknown) => runtime.app.inject({ method: 'POST', url, payload: payload as object });

  it('loads, lists and unloads an adapter over HTTP', async () => {
    const load = await post('/v1/lora_adapter/load', { lora_name: 'sql-lora', artifact_url: join(models, 'sql-lora') });
    expect(load.statusCode).toBe(200);
    expect(load.json()).toMatchObject({ object: 'lora_adapter', lora_name: 'sql-lora', status: 'loaded', changed: true });
    const list = await runtime.app.inject('/v1/lora_adapter/list');
    expect(list.json()).toEqual({
      object: 'list',
      data: [{ lora_name: 'sql-lora', path: realpathSync(join(models, 'sql-lora')), source: join(models, 'sql-lora') }],
    });
    const unload = await post('/v1/lora_adapter/unload', { lora_name: 'sql-lora' });
    expect(unload.json()).toMatchObject({ status: 'unloaded', changed: true });
    const again = await post('/v1/lora_adapter/unload', { lora_name: 'sql-lora' });
    expect(again.statusCode).toBe(200); // unloading an absent adapter is a no-op success
    expect(again.json()).toMatchObject({ changed: false });
    const metrics = parsePrometheusText((await runtime.app.inject('/metrics')).body);
    expect(
      metrics.samples
        .get('brix_runtime_adapter_operations_total')
        ?.map((x) => [x.labels['operation'], x.labels['result'], x.value]),
    ).toEqual([
      ['load', 'changed', 1],
      ['unload', 'changed', 1],
      ['unload', 'unchanged', 1],
    ]);
  });

  it.each([
    ['no lora_name', '/v1/lora_adapter/load', { artifact_url: '/x' }, 400, /lora_name/],
    ['a name with spaces', '/v1/lora_adapter/load', { lora_name: 'a b', artifact_url: '/x' }, 400, /lora_name/],
    ['no artifact_url', '/v1/lora_adapter/load', { lora_name: 'a' }, 400, /artifact_url/],
    ['a wrong delete_files', '/v1/lora_adapter/unload', { lora_name: 'a', delete_files: 'yes' }, 400, /delete_files/],
  ])('refuses a request with %s (400, OpenAI-style)', async (_case, url, payload, status, message) => {
    const res = await post(url, payload);
    expect(res.statusCode).toBe(status);
    expect(res.json().error).toMatchObject({ code: 'invalid_request', type: 'invalid_request_error' });
    expect(res.json().error.message).toMatch(message);
    expect(engine.calls.filter((c) => c.op !== 'list')).toEqual([]);
  });

  it("passes an engine refusal on with the engine's words, never as a bare 500", async () => {
    engine.failNext('load', 400, 'Loading lora sql-lora failed: invalid adapter_config.json');
    const res = await post('/v1/lora_adapter/load', { lora_name: 'sql-lora', artifact_url: join(models, 'sql-lora') });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.message).toContain('invalid adapter_config.json');
    engine.failNext('load', 503, 'engine is sleeping');
    const down = await post('/v1/lora_adapter/load', { lora_name: 'sql-lora', artifact_url: join(models, 'sql-lora') });
    expect(down.statusCode).toBe(502);
    expect(down.json().error).toMatchObject({ code: 'upstream_error', message: expect.stringContaining('engine is sleeping') });
  });

  it('lists loaded adapters in load snapshots even while they have no requests', async () => {
    engine.state.adapters = { running: ['busy-lora'], waiting: [] }; // vllm:lora_requests_info names only these
    await post('/v1/lora_adapter/load', { lora_name: 'sql-lora', artifact_url: join(models, 'sql-lora') });
    await runtime.app.ready();
    clock.advance(0);
    await waitFor(() => snapshots.length === 1, 'a snapshot');
    expect(snapshots[0]!.loadedAdapters).toEqual(['busy-lora', 'sql-lora']);
  });
});
