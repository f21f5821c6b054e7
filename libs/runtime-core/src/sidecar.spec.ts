import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryBus, subscribeEvents } from '@brix/bus';
import { WallClock } from '@brix/clock';
import {
  EngineLifecycle,
  type EngineLifecycleEvent,
  EngineLoad,
  type EngineLoadSnapshot,
  KvEvents,
  type KvEventBatch,
} from '@brix/contracts';
import { createLogger } from '@brix/observability';
import { waitFor } from '@brix/testing';
import { startSidecar, type StartedSidecar } from './sidecar';
import { type FixtureEngine, startFixtureEngine } from './testing/fixture-engine';
import { kvBatch, startTestKvPublisher, type TestKvPublisher } from './testing/kv-publisher';

const MODEL = 'meta-llama/Llama-3.1-8B-Instruct';

describe('startSidecar (in-process sidecars of the embedded stack)', () => {
  let shared: MemoryBus;
  let engines: FixtureEngine[];
  let sidecars: StartedSidecar[];
  let publisher: TestKvPublisher | undefined;

  beforeEach(async () => {
    shared = new MemoryBus();
    engines = [await startFixtureEngine(MODEL), await startFixtureEngine(MODEL)];
    sidecars = [];
  });
  afterEach(async () => {
    for (const s of sidecars) await s.close();
    for (const e of engines) await e.close();
    publisher?.close();
    publisher = undefined;
    await shared.close();
  });

  it('runs one sidecar per engine in this process, each on its own client of one bus, advertising its URL', async () => {
    const observer = shared.client();
    const snapshots: EngineLoadSnapshot[] = [];
    const lifecycle: EngineLifecycleEvent[] = [];
    subscribeEvents(observer, EngineLoad, (s) => void snapshots.push(s));
    subscribeEvents(observer, EngineLifecycle, (e) => void lifecycle.push(e));
    engines[0]!.state.running = 3;
    engines[1]!.state.running = 5;
    for (const [i, engine] of engines.entries())
      sidecars.push(
        await startSidecar({
          model: MODEL,
          pod: `engine-${i}`,
          engineUrl: engine.url,
          port: 0,
          cacheDir: mkdtempSync(join(tmpdir(), 'brix-sidecar-')),
          bus: shared.client(),
          logger: createLogger({ service: 'brix', level: 'silent' }),
          clock: new WallClock(),
        }),
      );
    await waitFor(() => snapshots.some((s) => s.pod === 'engine-0') && snapshots.some((s) => s.pod === 'engine-1'), 'both');
    expect(snapshots.find((s) => s.pod === 'engine-0')?.running).toBe(3);
    expect(snapshots.find((s) => s.pod === 'engine-1')?.running).toBe(5);

    const ready = lifecycle.filter((e) => e.phase === 'ready');
    expect(ready.map((e) => e.sidecarUrl).sort()).toEqual(sidecars.map((s) => s.url).sort());
    for (const s of sidecars) {
      expect(s.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
      expect(await (await fetch(`${s.url}/v1/lora_adapter/list`)).json()).toEqual({ object: 'list', data: [] });
    }

    // Closing one sidecar leaves the shared bus and the other sidecar running.
    await sidecars[0]!.close();
    const before = snapshots.filter((s) => s.pod === 'engine-1').length;
    await waitFor(() => snapshots.filter((s) => s.pod === 'engine-1').length > before + 2, 'more snapshots from engine-1');
    expect(shared.state()).toBe('connected');
  });

  it('bridges KV events when given the engine publisher', async () => {
    publisher = await startTestKvPublisher();
    const batches: KvEventBatch[] = [];
    subscribeEvents(shared.client(), KvEvents, (b) => void batches.push(b));
    sidecars.push(
      await startSidecar({
        model: MODEL,
        pod: 'engine-0',
        engineUrl: engines[0]!.url,
        port: 0,
        cacheDir: mkdtempSync(join(tmpdir(), 'brix-sidecar-')),
        bus: shared.client(),
        logger: createLogger({ service: 'brix', level: 'silent' }),
        clock: new WallClock(),
        kvEvents: { endpoint: publisher.endpoint },
      }),
    );
    await publisher.subscribed();
    await publisher.send(0n, kvBatch(1_764_100_000, [['AllBlocksCleared']]));
    await waitFor(() => batches.length === 1, 'the bridged batch');
    expect(batches[0]).toMatchObject({ pod: 'engine-0', seq: 0, engineSeq: 0, events: [{ type: 'AllBlocksCleared' }] });
  });
});
