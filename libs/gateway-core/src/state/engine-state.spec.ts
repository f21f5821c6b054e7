import { VirtualClock } from '@brix/clock';
import { type EngineLoadSnapshot } from '@brix/contracts';
import { MemoryEngineDirectory } from '@brix/discovery';
import { EngineStateStore } from './engine-state';

const engine = (id: string, extra = {}) => ({ id, model: 'llama', url: `http://e/${id}`, ready: true, labels: {}, ...extra });
const snapshot = (pod: string, extra: Partial<EngineLoadSnapshot> = {}): EngineLoadSnapshot => ({
  v: 1,
  model: 'llama',
  pod,
  ts: 0,
  running: 4,
  waiting: 1,
  kvUsage: 0.5,
  prefixHitRate: 0.2,
  promptTokensPerSec: 100,
  generationTokensPerSec: 50,
  loadedAdapters: ['sql'],
  ...extra,
});

function setup() {
  const clock = new VirtualClock(10_000);
  const directory = new MemoryEngineDirectory([
    engine('e1', { gpuType: 'H100' }),
    engine('e2', { gpuType: 'A10' }),
    engine('e3', { ready: false }),
  ]);
  const store = new EngineStateStore(directory, {
    clock,
    staleAfterMs: 1_000,
    capacityByGpu: { H100: 4, A10: 1 },
    breaker: { failureThreshold: 2, openMs: 500, maxOpenMs: 500 },
  });
  return { clock, directory, store };
}

describe('EngineStateStore', () => {
  it('offers ready engines of the model as candidates, with capacity from the GPU table', () => {
    const { store } = setup();
    expect(store.candidates('llama').map((e) => [e.id, e.capacity])).toEqual([
      ['e1', 4],
      ['e2', 1],
    ]);
    expect(store.candidates('other')).toEqual([]);
    expect(store.hasModel('llama')).toBe(true);
  });

  it('is stale until load state arrives, and again once it is older than the bound', () => {
    const { clock, store } = setup();
    const e1 = store.get('e1')!;
    expect(e1.stale).toBe(true);
    store.applySnapshot(snapshot('e1'), 'bus');
    expect(e1.stale).toBe(false);
    expect(e1).toMatchObject({ running: 4, waiting: 1, kvUsage: 0.5 });
    expect([...e1.loadedAdapters]).toEqual(['sql']);
    clock.advance(1_000);
    expect(e1.stale).toBe(false); // exactly at the bound is still fresh
    clock.advance(1);
    expect(e1.stale).toBe(true);
  });

  it('prefers fresh sidecar snapshots over its own scrapes, and scrapes once snapshots stop', () => {
    const { clock, store } = setup();
    store.applySnapshot(snapshot('e1', { running: 1 }), 'bus');
    store.applySnapshot(snapshot('e1', { running: 9 }), 'scrape');
    expect(store.get('e1')!.running).toBe(1);
    clock.advance(1_001);
    store.applySnapshot(snapshot('e1', { running: 9 }), 'scrape');
    expect(store.get('e1')!.running).toBe(9);
  });

  it('ignores snapshots of unknown engines or of another model', () => {
    const { store } = setup();
    store.applySnapshot(snapshot('nope'), 'bus');
    store.applySnapshot(snapshot('e1', { model: 'qwen' }), 'bus');
    expect(store.get('e1')!.stale).toBe(true);
  });

  it('counts in-flight requests and tokens, never below zero', () => {
    const { store } = setup();
    store.beginRequest('e1', 100);
    store.beginRequest('e1', 50);
    store.endRequest('e1', 100);
    expect(store.get('e1')).toMatchObject({ inFlight: 1, inFlightTokens: 50 });
    store.endRequest('e1', 50);
    store.endRequest('e1', 50);
    expect(store.get('e1')).toMatchObject({ inFlight: 0, inFlightTokens: 0 });
  });

  it('tracks adapters from events and lists them with their base model', () => {
    const { store } = setup();
    store.applyAdapterEvent({ v: 1, model: 'llama', adapter: 'sql', pod: 'e2', kind: 'loaded', ts: 0 });
    store.applyAdapterEvent({ v: 1, model: 'llama', adapter: 'chat', pod: 'e2', kind: 'loaded', ts: 0 });
    store.applyAdapterEvent({ v: 1, model: 'llama', adapter: 'chat', pod: 'e2', kind: 'unloaded', ts: 0 });
    expect([...store.adapters()]).toEqual([['sql', 'llama']]);
  });

  it('drops engines whose breaker is open from the candidates until the trial time', () => {
    const { clock, store } = setup();
    const e1 = store.get('e1')!;
    e1.breaker.onFailure(clock.now());
    e1.breaker.onFailure(clock.now());
    expect(store.candidates('llama').map((e) => e.id)).toEqual(['e2']);
    clock.advance(500);
    expect(store.candidates('llama').map((e) => e.id)).toEqual(['e1', 'e2']);
  });

  it('forgets removed engines and tells listeners; a moved engine starts afresh', () => {
    const { directory, store } = setup();
    const removed: string[] = [];
    store.onEngineRemoved((id) => removed.push(id));
    store.applySnapshot(snapshot('e1'), 'bus');
    directory.upsert(engine('e1', { url: 'http://elsewhere' }));
    expect(store.get('e1')!.stale).toBe(true);
    directory.remove('e2');
    expect(store.get('e2')).toBeUndefined();
    directory.upsert(engine('e4'));
    expect(store.get('e4')).toBeDefined();
    expect(removed).toEqual(['e1', 'e2']);
  });
});
