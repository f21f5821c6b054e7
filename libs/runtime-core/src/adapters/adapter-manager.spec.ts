import { existsSync, mkdirSync, mkdtempSync, realpathSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ArtifactStore, createArtifactStore, SUPPORTED_SCHEMES } from '@brix/artifacts';
import { MemoryBus, subscribeEvents } from '@brix/bus';
import { VirtualClock } from '@brix/clock';
import { type AdapterEvent, AdapterEvents, BrixError, subjectToken } from '@brix/contracts';
import { createLogger } from '@brix/observability';
import { waitFor } from '@brix/testing';
import { createFakeEngineApi, type FakeEngineApi } from '../testing/fake-engine-api';
import { AdapterManager } from './adapter-manager';

const MODEL = 'meta-llama/Llama-3.1-8B-Instruct';

describe('AdapterManager', () => {
  const root = mkdtempSync(join(tmpdir(), 'brix-adapters-'));
  const models = join(root, 'models');
  mkdirSync(join(models, 'sql-lora'), { recursive: true });
  writeFileSync(join(models, 'sql-lora', 'adapter_config.json'), '{"r":8}');
  const localSqlLora = realpathSync(join(models, 'sql-lora'));

  let server: Server;
  let remote: string;
  let engine: FakeEngineApi;
  let bus: MemoryBus;
  let clock: VirtualClock;
  let artifacts: ArtifactStore;
  let events: Array<{ subject: string; event: AdapterEvent }>;
  let manager: AdapterManager;

  beforeAll(async () => {
    // A remote artifact: one adapter file over real HTTP.
    server = createServer((req, res) => {
      if (req.url === '/adapters/chat-lora/adapter_model.safetensors') res.writeHead(200, { 'content-length': '4' }).end('LoRA');
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    remote = `http://127.0.0.1:${(server.address() as AddressInfo).port}/adapters/chat-lora/adapter_model.safetensors`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  beforeEach(() => {
    engine = createFakeEngineApi(MODEL);
    bus = new MemoryBus();
    clock = new VirtualClock(1_764_100_000_000);
    artifacts = createArtifactStore({
      cacheDir: mkdtempSync(join(tmpdir(), 'brix-adapter-cache-')),
      policy: { allowedSchemes: [...SUPPORTED_SCHEMES], allowedHosts: ['127.0.0.1'], allowedBuckets: [], localRoots: [models] },
    });
    events = [];
    subscribeEvents(bus, AdapterEvents, (event, subject) => void events.push({ subject, event }));
    manager = new AdapterManager({
      model: MODEL,
      pod: 'engine-0',
      engine,
      artifacts,
      bus,
      clock,
      logger: createLogger({ service: 'ai-runtime', level: 'silent' }),
      engineTimeoutMs: 1000,
      pollIntervalMs: 5000,
    });
  });
  afterEach(async () => {
    manager.stop();
    await artifacts.close();
    await bus.close();
  });

  const engineCalls = (op: 'load' | 'unload') => engine.calls.filter((c) => c.op === op);
  const kinds = () => events.map((e) => `${e.event.kind}:${e.event.adapter}`);
  const settle = () => bus.flush();

  it('hands a local path to the engine as is, verifies it in /v1/models and announces it', async () => {
    const result = await manager.load('sql-lora', join(models, 'sql-lora'));
    expect(result).toEqual({
      object: 'lora_adapter',
      lora_name: 'sql-lora',
      status: 'loaded',
      changed: true,
      path: localSqlLora,
      source: join(models, 'sql-lora'),
    });
    expect(engineCalls('load')).toEqual([{ op: 'load', body: { lora_name: 'sql-lora', lora_path: localSqlLora } }]);
    expect(await artifacts.list()).toEqual([]); // nothing copied
    expect(manager.loaded()).toEqual(['sql-lora']);
    await settle();
    expect(events).toEqual([
      {
        subject: `brix.adapter.events.${subjectToken(MODEL)}`,
        event: {
          v: 1,
          model: MODEL,
          adapter: 'sql-lora',
          pod: 'engine-0',
          kind: 'loaded',
          ts: 1_764_100_000_000,
          source: join(models, 'sql-lora'),
        },
      },
    ]);
  });

  it('downloads a remote artifact into the cache first and hands the engine the cached directory', async () => {
    const result = await manager.load('chat-lora', remote);
    const [artifact] = await artifacts.list();
    expect(artifact).toMatchObject({ status: 'complete', files: 1 });
    expect(result).toMatchObject({ changed: true, path: artifact!.path, source: remote });
    expect(engine.adapters.get('chat-lora')).toBe(artifact!.path);
    expect(existsSync(join(artifact!.path, 'adapter_model.safetensors'))).toBe(true);
  });

  it('is idempotent: a second load of a listed adapter changes nothing and calls no engine load', async () => {
    await manager.load('sql-lora', join(models, 'sql-lora'));
    const again = await manager.load('sql-lora', join(models, 'sql-lora'));
    expect(again).toMatchObject({ changed: false, status: 'loaded', path: localSqlLora });
    expect(engineCalls('load')).toHaveLength(1);
    await settle();
    expect(kinds()).toEqual(['loaded:sql-lora']); // one event, not two
  });

  it('shares one operation between concurrent loads of the same adapter', async () => {
    let open!: () => void;
    engine.gate = new Promise<void>((r) => (open = r));
    const loads = [1, 2, 3].map(() => manager.load('sql-lora', join(models, 'sql-lora')));
    await waitFor(() => engineCalls('load').length === 1, 'the engine load to start');
    open();
    const results = await Promise.all(loads);
    expect(results.map((r) => r.changed)).toEqual([true, true, true]); // one result, shared
    expect(engineCalls('load')).toHaveLength(1);
  });

  it('refuses to load a name this sidecar loaded from another source, in flight or done (409)', async () => {
    let open!: () => void;
    engine.gate = new Promise<void>((r) => (open = r));
    const first = manager.load('sql-lora', join(models, 'sql-lora'));
    await expect(manager.load('sql-lora', remote)).rejects.toMatchObject({ status: 409, code: 'conflict' });
    open();
    await first;
    await expect(manager.load('sql-lora', remote)).rejects.toMatchObject({ status: 409 });
    expect(engineCalls('load')).toHaveLength(1);
  });

  it('queues an unload behind a load in flight', async () => {
    let open!: () => void;
    engine.gate = new Promise<void>((r) => (open = r));
    const load = manager.load('sql-lora', join(models, 'sql-lora'));
    const unload = manager.unload('sql-lora');
    await waitFor(() => engineCalls('load').length === 1, 'the load');
    expect(engineCalls('unload')).toHaveLength(0); // waits for the load
    open();
    expect((await load).status).toBe('loaded');
    expect(await unload).toMatchObject({ status: 'unloaded', changed: true });
    expect(engine.adapters.size).toBe(0);
    await settle();
    expect(kinds()).toEqual(['loaded:sql-lora', 'unloaded:sql-lora']);
  });

  it('lets a poll that overlaps an operation change nothing about that adapter: one event per change', async () => {
    await manager.load('sql-lora', join(models, 'sql-lora'));
    let open!: () => void;
    engine.gate = new Promise<void>((r) => (open = r));
    const unload = manager.unload('sql-lora');
    await waitFor(() => engineCalls('unload').length === 1, 'the engine unload to start');
    // The engine still lists the adapter while the unload is in flight; the poll must not touch it.
    await manager.refresh();
    expect(manager.loaded()).toEqual(['sql-lora']);
    open();
    await unload;
    await manager.refresh();
    await settle();
    expect(kinds()).toEqual(['loaded:sql-lora', 'unloaded:sql-lora']);
  });

  it('unloads, verifies the adapter left /v1/models, and announces it; unloading again is a no-op success', async () => {
    await manager.load('sql-lora', join(models, 'sql-lora'));
    expect(await manager.unload('sql-lora')).toEqual({
      object: 'lora_adapter',
      lora_name: 'sql-lora',
      status: 'unloaded',
      changed: true,
      path: localSqlLora,
      source: join(models, 'sql-lora'),
    });
    expect(manager.loaded()).toEqual([]);
    expect(await manager.unload('sql-lora')).toEqual({
      object: 'lora_adapter',
      lora_name: 'sql-lora',
      status: 'unloaded',
      changed: false,
    });
    expect(engineCalls('unload')).toHaveLength(1);
    await settle();
    expect(kinds()).toEqual(['loaded:sql-lora', 'unloaded:sql-lora']);
  });

  it('deletes downloaded files on request, but never a local path, nor files another adapter still uses', async () => {
    await manager.load('chat-lora', remote);
    await manager.load('chat-lora-copy', remote); // same artifact, second name
    await manager.load('sql-lora', join(models, 'sql-lora'));
    const [artifact] = await artifacts.list();

    expect(await manager.unload('chat-lora', { deleteFiles: true })).toMatchObject({ files_deleted: false }); // still in use
    expect(existsSync(artifact!.path)).toBe(true);
    expect(await manager.unload('chat-lora-copy', { deleteFiles: true })).toMatchObject({ files_deleted: true });
    expect(existsSync(artifact!.path)).toBe(false);
    expect(await manager.unload('sql-lora', { deleteFiles: true })).toMatchObject({ files_deleted: false });
    expect(existsSync(localSqlLora)).toBe(true);
  });

  it.each([
    ['a 400 refusal', 'load', 400, 'BadRequestError', 'Loading lora sql-lora failed: bad config', 400, 'invalid_request'],
    ['a 404 NotFoundError', 'load', 404, 'NotFoundError', 'No adapter found for /x', 404, 'not_found'],
    ['a missing route (runtime loading disabled)', 'load', 404, undefined, 'Not Found', 502, 'upstream_error'],
    ['an engine crash (500)', 'load', 500, undefined, 'Internal Server Error', 502, 'upstream_error'],
    ['a timeout', 'load', 'timeout', undefined, '', 504, 'upstream_timeout'],
    ['an unreachable engine', 'list', 'unreachable', undefined, '', 502, 'upstream_error'],
  ] as const)(
    'answers %s of the engine with the engine message and a fitting status',
    async (_case, op, engineStatus, type, said, status, code) => {
      engine.failNext(op, engineStatus, said, type);
      const err = await manager.load('sql-lora', join(models, 'sql-lora')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BrixError);
      expect(err).toMatchObject({ status, code });
      if (said && said !== 'Not Found') expect((err as Error).message).toContain(said);
      if (said === 'Not Found') expect((err as Error).message).toContain('VLLM_ALLOW_RUNTIME_LORA_UPDATING');
      await settle();
      if (op === 'load')
        expect(events.map((e) => e.event)).toEqual([
          expect.objectContaining({ kind: 'load-failed', reason: (err as Error).message }),
        ]);
      else expect(events).toEqual([]); // the engine could not even be asked: nothing happened to announce
      expect(manager.loaded()).toEqual([]);
    },
  );

  it('gives up on an engine call after the configured timeout on its clock (504)', async () => {
    engine.gate = new Promise<void>(() => undefined); // the engine never answers
    const load = manager.load('sql-lora', join(models, 'sql-lora'));
    let settled = false;
    load.then(
      () => (settled = true),
      () => (settled = true),
    );
    await waitFor(() => engineCalls('load').length === 1, 'the engine load to start');
    clock.advance(999);
    await settle();
    expect(settled).toBe(false); // still waiting on the engine
    clock.advance(1); // engineTimeoutMs = 1000
    await expect(load).rejects.toMatchObject({ status: 504, code: 'upstream_timeout' });
  });

  it('fails a load the engine acknowledged but does not list (502, load-failed)', async () => {
    engine.loseLoads = true;
    await expect(manager.load('sql-lora', join(models, 'sql-lora'))).rejects.toMatchObject({ status: 502 });
    await settle();
    expect(kinds()).toEqual(['load-failed:sql-lora']);
  });

  it.each([
    ['a local path outside the roots', join(root, 'elsewhere'), 403],
    ['a local path that does not exist', join(models, 'missing'), 404],
    ['a host off the allow-list', 'https://example.org/lora.bin', 403],
  ])('refuses %s before touching the engine, and announces the failure', async (_case, source, status) => {
    await expect(manager.load('x-lora', source)).rejects.toMatchObject({ status });
    expect(engineCalls('load')).toHaveLength(0);
    await settle();
    expect(kinds()).toEqual(['load-failed:x-lora']);
  });

  it('refuses to treat the base model as an adapter', async () => {
    await expect(manager.load(MODEL, join(models, 'sql-lora'))).rejects.toMatchObject({ status: 409 });
    await expect(manager.unload(MODEL)).rejects.toMatchObject({ status: 400 });
  });

  it('with a poll interval of 0, looks once at start and then only when asked', async () => {
    const quiet = new AdapterManager({
      model: MODEL,
      pod: 'engine-1',
      engine,
      artifacts,
      bus,
      clock,
      logger: createLogger({ service: 'ai-runtime', level: 'silent' }),
      engineTimeoutMs: 1000,
      pollIntervalMs: 0,
    });
    quiet.start();
    clock.advance(0);
    await waitFor(() => engine.calls.length === 1, 'the first look');
    engine.adapters.set('direct-lora', '/models/direct');
    for (let i = 0; i < 5; i++) {
      clock.advance(60_000);
      await settle();
    }
    expect(engine.calls).toEqual([{ op: 'list' }]); // no polling
    await quiet.refresh();
    expect(quiet.loaded()).toEqual(['direct-lora']);
    quiet.stop();
  });

  it('finds adapters changed behind its back by polling /v1/models, and announces them', async () => {
    manager.start();
    clock.advance(0);
    await waitFor(() => engine.calls.some((c) => c.op === 'list'), 'the first poll');
    await settle();
    expect(events).toEqual([]);
    // Someone loads an adapter directly on the engine; then the engine restarts and loses it.
    engine.adapters.set('direct-lora', '/models/direct');
    clock.advance(5000);
    await waitFor(() => manager.loaded().includes('direct-lora'), 'the poll to see the adapter');
    engine.adapters.clear();
    await manager.refresh('engine restarted');
    await settle();
    expect(events.map((e) => e.event)).toEqual([
      expect.objectContaining({ kind: 'loaded', adapter: 'direct-lora' }),
      expect.objectContaining({ kind: 'unloaded', adapter: 'direct-lora', reason: 'engine restarted' }),
    ]);
    expect(manager.list()).toEqual([]);
  });
});
