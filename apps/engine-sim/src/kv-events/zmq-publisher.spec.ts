import { VirtualClock } from '@brix/clock';
import { type KvEvent } from '@brix/engine-model';
import { createLogger } from '@brix/observability';
import { decode } from '@msgpack/msgpack';
import * as zmq from 'zeromq';
import { EventBatchEncoder, toWireEvent } from './encode';
import { ZmqKvEventPublisher, shouldBind } from './zmq-publisher';

const stored: Extract<KvEvent, { type: 'BlockStored' }> = {
  type: 'BlockStored',
  // one hash above 2^63: it must travel as an unsigned 64-bit integer
  blockHashes: [0xfedcba9876543210n, 42n],
  parentBlockHash: null,
  tokenIds: Array.from({ length: 32 }, (_, i) => 1000 + i),
  blockSize: 16,
  loraId: null,
  medium: 'GPU',
  loraName: null,
};
const removed: KvEvent = { type: 'BlockRemoved', blockHashes: [42n], medium: 'GPU' };
const cleared: KvEvent = { type: 'AllBlocksCleared' };

describe('KV event encoding (vLLM 0.10.2–0.13 array form)', () => {
  it('encodes [ts float64, [events], rank] with tagged array events and uint64 hashes', () => {
    // A whole-number ts is still a float64 (0xcb), as msgspec writes a float field.
    const payload = new EventBatchEncoder().encode(1_764_100_000, [stored, removed, cleared], 0);
    expect(payload[0]).toBe(0x93);
    expect(payload[1]).toBe(0xcb);
    expect(decode(payload, { useBigInt64: true })).toEqual([
      1_764_100_000,
      [
        ['BlockStored', [0xfedcba9876543210n, 42n], null, stored.tokenIds, 16, null, 'GPU'],
        ['BlockRemoved', [42n], 'GPU'],
        ['AllBlocksCleared'],
      ],
      0,
    ]);
  });

  it('keeps the LoRA id and parent hash of stored blocks', () => {
    // lora_name (added to vLLM after 0.13) is not on this wire format
    expect(toWireEvent({ ...stored, parentBlockHash: 7n, loraId: 3, loraName: 'sql' })).toEqual([
      'BlockStored',
      stored.blockHashes,
      7n,
      stored.tokenIds,
      16,
      3,
      'GPU',
    ]);
  });

  it.each([
    { endpoint: 'tcp://*:5557', bind: true },
    { endpoint: 'tcp://[::]:5557', bind: true },
    { endpoint: 'ipc:///var/run/engine/kv', bind: true },
    { endpoint: 'tcp://10.0.0.5:5557', bind: false },
  ])('binds $endpoint: $bind (vLLM rule)', ({ endpoint, bind }) => {
    expect(shouldBind(endpoint)).toBe(bind);
  });
});

describe('ZmqKvEventPublisher with real ZMQ sockets', () => {
  const logger = createLogger({ service: 'engine-sim', level: 'silent' });

  it('publishes [topic, 8-byte big-endian seq from 0, payload] to a SUB socket and replays from a seq', async () => {
    const wall = new VirtualClock(1_764_100_000_500);
    const publisher = await ZmqKvEventPublisher.open({
      config: {
        enabled: true,
        publisher: 'zmq',
        endpoint: 'tcp://127.0.0.1:*',
        replayEndpoint: 'tcp://127.0.0.1:*',
        bufferSteps: 10,
        hwm: 1000,
        maxQueueSize: 1000,
        topic: 'kv',
      },
      wall,
      logger,
    });
    const sub = new zmq.Subscriber({ linger: 0 });
    const dealer = new zmq.Dealer({ linger: 0 });
    try {
      sub.connect(publisher.boundEndpoint!);
      sub.subscribe('kv');
      // PUB drops what it sends before the subscription reaches it: publish until the first batch arrives.
      let first: Buffer[] | undefined;
      const receiving = sub.receive();
      while (!first) {
        publisher.publish({ timeMs: 0, events: [stored] });
        first = await Promise.race([receiving, new Promise<undefined>((r) => setTimeout(() => r(undefined), 20))]);
      }
      expect(first).toHaveLength(3);
      expect(first[0]!.toString()).toBe('kv');
      expect(first[1]).toHaveLength(8);
      const seq = first[1]!.readBigUInt64BE(0);
      const [ts, events, rank] = decode(first[2]!, { useBigInt64: true }) as [number, unknown[], number];
      // ts is the wall clock at publish, in Unix seconds
      expect(ts).toBe(1_764_100_000.5);
      expect(rank).toBe(0);
      expect(events).toEqual([['BlockStored', [0xfedcba9876543210n, 42n], null, stored.tokenIds, 16, null, 'GPU']]);

      publisher.publish({ timeMs: 0, events: [removed] });
      publisher.publish({ timeMs: 0, events: [cleared] });
      const next = await sub.receive();
      const last = await sub.receive();
      // one sequence number per batch, consecutive
      expect(next[1]!.readBigUInt64BE(0)).toBe(seq + 1n);
      expect(last[1]!.readBigUInt64BE(0)).toBe(seq + 2n);
      expect(decode(last[2]!, { useBigInt64: true })).toEqual([1_764_100_000.5, [['AllBlocksCleared']], 0]);

      // Replay: [start seq] in, one [seq, payload] per buffered batch from there, then [-1, ""].
      dealer.connect(publisher.replayEndpoint!);
      const start = Buffer.alloc(8);
      start.writeBigUInt64BE(seq + 1n);
      await dealer.send([Buffer.alloc(0), start]);
      const replies: Buffer[][] = [];
      for (;;) {
        const msg = await dealer.receive();
        replies.push(msg);
        if (msg[1]!.readBigInt64BE(0) === -1n) break;
      }
      expect(replies).toHaveLength(3);
      // [empty delimiter, seq, payload]: the REQ-style delimiter is echoed
      expect(replies.map((r) => r[0]!.length)).toEqual([0, 0, 0]);
      expect(replies.map((r) => r[1]!.readBigInt64BE(0))).toEqual([seq + 1n, seq + 2n, -1n]);
      expect(replies[2]![2]!.length).toBe(0);
      expect(Buffer.compare(replies[1]![2]!, last[2]!)).toBe(0);
    } finally {
      sub.close();
      dealer.close();
      await publisher.close();
    }
  });

  it('drops batches beyond max_queue_size without giving them sequence numbers', async () => {
    const publisher = await ZmqKvEventPublisher.open({
      config: {
        enabled: true,
        publisher: 'zmq',
        endpoint: 'tcp://127.0.0.1:*',
        replayEndpoint: null,
        bufferSteps: 10,
        hwm: 1000,
        maxQueueSize: 2,
        topic: '',
      },
      wall: new VirtualClock(0),
      logger,
    });
    try {
      // The first batch starts sending at once; two more fill the queue; the fourth is dropped.
      for (let i = 0; i < 4; i++) publisher.publish({ timeMs: 0, events: [cleared] });
      expect(publisher.dropped).toBe(1);
    } finally {
      await publisher.close();
    }
  });
});
