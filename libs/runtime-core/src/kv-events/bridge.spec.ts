import { Writable } from 'node:stream';
import { MemoryBus, subscribeEvents } from '@brix/bus';
import { WallClock } from '@brix/clock';
import { KvEvents, type KvEventBatch, subjectToken } from '@brix/contracts';
import { createLogger, createMetricsRegistry } from '@brix/observability';
import { waitFor } from '@brix/testing';
import { kvBridgeMetrics } from '../metrics';
import { kvBatch, startTestKvPublisher, type TestKvPublisher } from '../testing/kv-publisher';
import { KvEventBridge } from './bridge';
import { createZmqKvTransport } from './transport';

const MODEL = 'meta-llama/Llama-3.1-8B-Instruct';
const POD = 'engine-0';

/** A one-block BlockStored in vLLM 0.10.2–0.13 array form; the hash tells batches apart. */
const storedEvent = (hash: bigint) => ['BlockStored', [hash], null, Array.from({ length: 16 }, (_, i) => i), 16, null, 'GPU'];
const batchOf = (hash: bigint) => kvBatch(1_764_100_000 + Number(hash), [storedEvent(hash)]);
const hex = (n: bigint) => n.toString(16).padStart(16, '0');

describe('KvEventBridge over ZeroMQ', () => {
  let bus: MemoryBus;
  let received: Array<{ subject: string; batch: KvEventBatch }>;
  let publishers: TestKvPublisher[];
  let bridge: KvEventBridge | undefined;
  let logged: string;
  let registry: ReturnType<typeof createMetricsRegistry>;

  beforeEach(() => {
    bus = new MemoryBus();
    received = [];
    publishers = [];
    logged = '';
    registry = createMetricsRegistry({ service: 'ai-runtime', processMetrics: false });
    subscribeEvents(bus, KvEvents, (batch, subject) => void received.push({ subject, batch }));
  });
  afterEach(async () => {
    await bridge?.stop();
    bridge = undefined;
    for (const p of publishers) p.close();
    await bus.close();
  });

  const publisher = async (options: Parameters<typeof startTestKvPublisher>[0] = {}) => {
    const p = await startTestKvPublisher(options);
    publishers.push(p);
    return p;
  };

  const startBridge = (endpoint: string, replayEndpoint?: string) => {
    bridge = new KvEventBridge({
      model: MODEL,
      pod: POD,
      bus,
      clock: new WallClock(),
      logger: createLogger({
        service: 'ai-runtime',
        destination: new Writable({
          write(chunk, _e, cb) {
            logged += chunk.toString();
            cb();
          },
        }),
      }),
      transport: createZmqKvTransport({ reconnectIntervalMs: 20 }),
      endpoint,
      ...(replayEndpoint ? { replayEndpoint } : {}),
      replayTimeoutMs: 2000,
      metrics: kvBridgeMetrics(registry),
    });
    bridge.start();
    return bridge;
  };

  const metric = async (name: string, labels: Record<string, string> = {}) => {
    const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name);
    return m?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value ?? 0;
  };

  /** Engine seqs of what reached the bus, and the bridge's seqs. */
  const seqs = () => ({ engine: received.map((r) => r.batch.engineSeq), bridge: received.map((r) => r.batch.seq) });

  it('republishes each batch in order on brix.kv.events.<model>.<pod>, with its own seq and the engine seq', async () => {
    const pub = await publisher();
    startBridge(pub.endpoint);
    await pub.subscribed();
    for (let s = 0n; s < 5n; s++) await pub.send(s, batchOf(s + 1n));
    await waitFor(() => received.length === 5, 'five batches on the bus');
    expect(seqs()).toEqual({ engine: [0, 1, 2, 3, 4], bridge: [0, 1, 2, 3, 4] });
    expect(received[0]!.subject).toBe(`brix.kv.events.${subjectToken(MODEL)}.${POD}`);
    expect(received[2]!.batch).toEqual({
      v: 1,
      model: MODEL,
      pod: POD,
      seq: 2,
      engineSeq: 2,
      ts: (1_764_100_000 + 3) * 1000, // the engine's batch time, seconds → ms
      events: [
        {
          type: 'BlockStored',
          blockHashes: [hex(3n)],
          parentBlockHash: null,
          tokenIds: Array.from({ length: 16 }, (_, i) => i),
          blockSize: 16,
          loraId: null,
          medium: 'GPU',
        },
      ],
    });
    expect(await metric('brix_runtime_kv_publisher_connected')).toBe(1);
    expect(await metric('brix_runtime_kv_events_total', { type: 'BlockStored' })).toBe(5);
  });

  it('fetches missed batches from the replay endpoint and publishes them in order before the one that showed the gap', async () => {
    const pub = await publisher({ replay: true });
    startBridge(pub.endpoint, pub.replayEndpoint);
    await pub.subscribed();
    await pub.send(0n, batchOf(1n));
    await pub.send(1n, batchOf(2n));
    // Batches 2 and 3 never reach the subscriber live; the engine still buffers them.
    pub.buffer(2n, batchOf(3n));
    pub.buffer(3n, batchOf(4n));
    await pub.send(4n, batchOf(5n));
    await waitFor(() => received.length === 5, 'five batches on the bus');
    expect(seqs()).toEqual({ engine: [0, 1, 2, 3, 4], bridge: [0, 1, 2, 3, 4] });
    expect(received.map((r) => r.batch.events[0]!.type === 'BlockStored' && r.batch.events[0]!.blockHashes[0])).toEqual(
      [1n, 2n, 3n, 4n, 5n].map(hex),
    );
    expect(pub.replayRequests).toEqual([2n]); // asked from the first missing seq
    expect(bridge!.stats()).toMatchObject({ published: 5, replayed: 2, lost: 0 });
    expect(await metric('brix_runtime_kv_gaps_total', { outcome: 'replayed' })).toBe(1);
  });

  it('without a replay endpoint, announces the gap and leaves the same gap in its own seq', async () => {
    const pub = await publisher();
    startBridge(pub.endpoint);
    await pub.subscribed();
    await pub.send(0n, batchOf(1n));
    await pub.send(3n, batchOf(4n)); // engine batches 1 and 2 are lost
    await pub.send(4n, batchOf(5n));
    await waitFor(() => received.length === 3, 'three batches on the bus');
    // Bridge seq 1 and 2 are never published: a consumer sees exactly where data is missing.
    expect(seqs()).toEqual({ engine: [0, 3, 4], bridge: [0, 3, 4] });
    expect(bridge!.stats()).toMatchObject({ published: 3, lost: 2 });
    expect(await metric('brix_runtime_kv_lost_batches_total')).toBe(2);
    expect(await metric('brix_runtime_kv_gaps_total', { outcome: 'lost' })).toBe(1);
    expect(logged).toContain('kv event batches missed');
  });

  it('publishes what the replay still has and counts the rest lost', async () => {
    const pub = await publisher({ replay: true });
    startBridge(pub.endpoint, pub.replayEndpoint);
    await pub.subscribed();
    await pub.send(0n, batchOf(1n));
    // Engine batch 1 fell out of the engine's replay buffer; 2 is still there.
    pub.buffer(2n, batchOf(3n));
    await pub.send(3n, batchOf(4n));
    await waitFor(() => received.length === 3, 'three batches on the bus');
    expect(seqs()).toEqual({ engine: [0, 2, 3], bridge: [0, 2, 3] });
    expect(bridge!.stats()).toMatchObject({ replayed: 1, lost: 1 });
  });

  it('reconnects to a restarted engine, whose sequence starts over, and tells consumers its cache was cleared', async () => {
    const first = await publisher();
    startBridge(first.endpoint);
    await first.subscribed();
    for (let s = 0n; s < 3n; s++) await first.send(s, batchOf(s + 1n));
    await waitFor(() => received.length === 3, 'three batches from the first engine');

    // The engine process is replaced on the same port; its replay buffer holds batch 0, which the
    // subscriber misses while it reconnects.
    first.close();
    const second = await publisher({ endpoint: first.endpoint, replay: true });
    await second.subscribed();
    second.buffer(0n, batchOf(10n));
    await second.send(1n, batchOf(11n));
    await waitFor(() => received.length === 4, 'a batch from the restarted engine');
    // No replay endpoint was configured for the bridge: batch 0 of the new engine is lost (bridge seq 3
    // stays unused), and the first batch published from the new engine starts with AllBlocksCleared.
    expect(seqs()).toEqual({ engine: [0, 1, 2, 1], bridge: [0, 1, 2, 4] });
    expect(received[3]!.batch.events.map((e) => e.type)).toEqual(['AllBlocksCleared', 'BlockStored']);
    expect(bridge!.stats()).toMatchObject({ resets: 1, lost: 1 });
    expect(await metric('brix_runtime_kv_sequence_resets_total')).toBe(1);
  });

  it('after an engine restart, fetches the new engine batches it missed from the replay endpoint', async () => {
    const first = await publisher({ replay: true });
    startBridge(first.endpoint, first.replayEndpoint);
    await first.subscribed();
    for (let s = 0n; s < 4n; s++) await first.send(s, batchOf(s + 1n));
    await waitFor(() => received.length === 4, 'four batches from the first engine');
    first.close();
    const second = await publisher({ endpoint: first.endpoint, replay: first.replayEndpoint! });
    await second.subscribed();
    second.buffer(0n, batchOf(10n));
    second.buffer(1n, batchOf(11n));
    await second.send(2n, batchOf(12n));
    await waitFor(() => received.length === 7, 'three batches from the restarted engine');
    expect(seqs()).toEqual({ engine: [0, 1, 2, 3, 0, 1, 2], bridge: [0, 1, 2, 3, 4, 5, 6] });
    // The clear comes first, before the replayed batches of the new process.
    expect(received.slice(4).map((r) => r.batch.events.map((e) => e.type))).toEqual([
      ['AllBlocksCleared', 'BlockStored'],
      ['BlockStored'],
      ['BlockStored'],
    ]);
    expect(second.replayRequests).toEqual([0n]);
  });

  it('drops messages that are not [topic, seq, payload], and skips a seq for a payload it cannot decode', async () => {
    const pub = await publisher();
    startBridge(pub.endpoint);
    await pub.subscribed();
    await pub.send(0n, batchOf(1n));
    await pub.sendFrames(['', 'no-seq']); // two frames: dropped, not a batch at all
    await pub.sendFrames(['', 'short', 'x']); // a seq frame that is not 8 bytes
    await pub.send(1n, new Uint8Array([0xc1])); // a batch that is not msgpack
    await pub.send(2n, batchOf(3n));
    await waitFor(() => received.length === 2, 'two batches on the bus');
    expect(seqs()).toEqual({ engine: [0, 2], bridge: [0, 2] });
    expect(await metric('brix_runtime_kv_batches_total', { result: 'malformed' })).toBe(2);
    expect(await metric('brix_runtime_kv_batches_total', { result: 'undecodable' })).toBe(1);
    expect(bridge!.stats()).toMatchObject({ undecodable: 1, lost: 0 });
  });

  it('stops cleanly and publishes nothing afterwards', async () => {
    const pub = await publisher();
    const b = startBridge(pub.endpoint);
    await pub.subscribed();
    await pub.send(0n, batchOf(1n));
    await waitFor(() => received.length === 1, 'one batch');
    await b.stop();
    await pub.send(1n, batchOf(2n)).catch(() => undefined);
    await bus.flush();
    expect(received).toHaveLength(1);
  });
});
