import { describeBusContract } from '../bus-contract';
import { MemoryBus } from './memory-bus';

// In embedded mode the components of one process are clients of one MemoryBus.
describeBusContract('memory', async () => {
  const medium = new MemoryBus({ onHandlerError: () => undefined });
  return {
    connect: async () => medium.client(),
    teardown: () => medium.close(),
  };
});

describe('MemoryBus specifics', () => {
  it('expires KV values after the bucket TTL on the injected clock', async () => {
    let now = 1_000;
    const bus = new MemoryBus({ now: () => now });
    const kv = await bus.kv('ttl', { ttlMs: 100 });
    await kv.put('k', new Uint8Array([1]));
    now += 100;
    expect(await kv.get('k')).not.toBeNull();
    now += 1;
    expect(await kv.get('k')).toBeNull();
    expect(await kv.keys()).toEqual([]);
  });

  it('closing one client ends its subscriptions only', async () => {
    const bus = new MemoryBus();
    const a = bus.client();
    const b = bus.client();
    const got: string[] = [];
    a.subscribe('s', () => void got.push('a'));
    b.subscribe('s', () => void got.push('b'));
    await a.close();
    bus.publish('s', new Uint8Array());
    await bus.flush();
    expect(got).toEqual(['b']);
    expect(a.state()).toBe('closed');
    expect(b.state()).toBe('connected');
  });

  it('drops publishes after close instead of throwing', async () => {
    const bus = new MemoryBus();
    await bus.close();
    expect(() => bus.publish('x', new Uint8Array())).not.toThrow();
  });
});
