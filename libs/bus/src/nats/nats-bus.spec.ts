import { EngineLoad, type EngineLoadSnapshot } from '@brix/contracts';
import { type NatsServerHandle, startNatsServer, waitFor } from '@brix/testing';
import { collector, describeBusContract } from '../bus-contract';
import { type BusState } from '../port';
import { publishEvent, subscribeEvents } from '../typed';
import { NatsBus } from './nats-bus';

const quiet = () => undefined;

describeBusContract('nats (real nats-server)', async () => {
  const server = await startNatsServer();
  return {
    connect: () => NatsBus.connect({ servers: server.url, onHandlerError: quiet }),
    teardown: () => server.dispose(),
  };
});

describe('NatsBus against a real nats-server', () => {
  let server: NatsServerHandle;
  beforeAll(async () => {
    server = await startNatsServer();
  });
  afterAll(async () => {
    await server.dispose();
  });

  it('survives a server restart: reports the outage, then messages and KV flow again', async () => {
    const pub = await NatsBus.connect({ servers: server.url, reconnectWaitMs: 50, onHandlerError: quiet });
    const sub = await NatsBus.connect({ servers: server.url, reconnectWaitMs: 50, onHandlerError: quiet });
    const states: BusState[] = [];
    sub.onStateChange((s) => states.push(s));
    const got = collector<string>();
    sub.subscribe('restart.test', (m) => got.push(new TextDecoder().decode(m.data)));
    const kv = await pub.kv('restart');
    await kv.put('k', new TextEncoder().encode('before'));
    await sub.flush();
    pub.publish('restart.test', new TextEncoder().encode('before'));
    await got.waitFor(1);

    await server.stop();
    await waitFor(() => sub.state() !== 'connected', 'the client to notice the outage');
    await server.restart();
    await waitFor(() => sub.state() === 'connected' && pub.state() === 'connected', 'both clients to reconnect', {
      timeoutMs: 15_000,
    });

    // The subscription was re-established by the client; no re-subscribe by the caller.
    pub.publish('restart.test', new TextEncoder().encode('after'));
    await got.waitFor(2);
    expect(got.items).toEqual(['before', 'after']);
    expect(states).toEqual(expect.arrayContaining(['disconnected', 'connected']));
    // JetStream state persisted across the restart.
    expect(new TextDecoder().decode((await kv.get('k'))!.value)).toBe('before');
    await pub.close();
    await sub.close();
  });

  it('a typed subscriber counts a malformed message, drops it, and keeps receiving valid ones', async () => {
    const bus = await NatsBus.connect({ servers: server.url, onHandlerError: quiet });
    const received = collector<EngineLoadSnapshot>();
    const invalid: Array<{ contract: string; reason: string }> = [];
    const reported: string[] = [];
    subscribeEvents(bus, EngineLoad, (m) => received.push(m), {
      counter: { inc: (labels) => invalid.push(labels) },
      onInvalid: (err, subject) => reported.push(`${subject}: ${err.message}`),
    });
    await bus.flush();
    const valid: EngineLoadSnapshot = {
      v: 1,
      model: 'llama-3.1',
      pod: 'e0',
      ts: Date.now(),
      running: 1,
      waiting: 0,
      kvUsage: 0.1,
      prefixHitRate: null,
      promptTokensPerSec: 0,
      generationTokensPerSec: 0,
      loadedAdapters: [],
    };
    const subject = EngineLoad.subject({ model: 'llama-3.1', pod: 'e0' });
    bus.publish(subject, new TextEncoder().encode('{not json'));
    bus.publish(subject, new TextEncoder().encode(JSON.stringify({ ...valid, kvUsage: 7 })));
    publishEvent(bus, EngineLoad, { model: 'llama-3.1', pod: 'e0' }, valid);
    await received.waitFor(1);
    expect(received.items).toEqual([valid]);
    expect(invalid).toEqual([
      { contract: 'engine-load', reason: 'json' },
      { contract: 'engine-load', reason: 'schema' },
    ]);
    expect(reported[1]).toContain('/kvUsage');
    await bus.close();
  });

  it('fails start-up with a clear error when no server listens', async () => {
    await expect(NatsBus.connect({ servers: 'nats://127.0.0.1:1', connectTimeoutMs: 500 })).rejects.toThrow();
  });
});
