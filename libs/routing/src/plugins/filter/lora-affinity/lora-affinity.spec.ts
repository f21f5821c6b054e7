import { createRouter } from '../../../create-router';
import { choose, engine } from '../../../testing/fixtures';

const lora = (...names: string[]) => new Set(names);

describe('lora-affinity', () => {
  it.each([
    // Tier 1: only e2 has `sql` loaded; it wins though busier than e1.
    ['adapter loaded', [engine('e1'), engine('e2', { running: 4, loadedAdapters: lora('sql') })], 'e2'],
    // Among engines with it loaded, the least loaded.
    [
      'least loaded among loaded',
      [
        engine('e1', { running: 3, loadedAdapters: lora('sql') }),
        engine('e2', { running: 1, loadedAdapters: lora('sql') }),
        engine('e3'),
      ],
      'e2',
    ],
    // Tier 2: loaded nowhere; e1's single slot is taken, e3's slot count is unknown, e2 has a free slot.
    [
      'free adapter slot',
      [
        engine('e1', { maxLoras: 1, loadedAdapters: lora('chat') }),
        engine('e2', { running: 6, maxLoras: 2, loadedAdapters: lora('chat') }),
        engine('e3'),
      ],
      'e2',
    ],
    // Tier 3: no slot free anywhere, so any engine: the least loaded.
    [
      'any engine',
      [
        engine('e1', { running: 2, maxLoras: 1, loadedAdapters: lora('a') }),
        engine('e2', { running: 1, maxLoras: 1, loadedAdapters: lora('b') }),
      ],
      'e2',
    ],
    // A stale engine with the adapter counts as saturated: not preferred, so tier 3 picks fresh e2.
    [
      'stale loaded engine not preferred',
      [engine('e1', { stale: true, loadedAdapters: lora('sql') }), engine('e2', { running: 5 })],
      'e2',
    ],
  ])('%s → %s', (_case, engines, expected) => {
    expect(choose('lora-affinity', engines, { adapter: 'sql' }).engine.id).toBe(expected);
  });

  it('without an adapter behaves like least-request', () => {
    expect(choose('lora-affinity', [engine('e1', { running: 1, loadedAdapters: lora('sql') }), engine('e2')]).engine.id).toBe(
      'e2',
    );
  });

  it('skips an overloaded engine with the adapter when maxRequestLoad is set', () => {
    const router = createRouter({
      config: { plugins: { 'lora-affinity': { type: 'lora-affinity', params: { maxRequestLoad: 4 } } } },
    });
    // e1 has `sql` but holds 10 requests > 4: e2's free slot is preferred.
    const engines = [engine('e1', { running: 10, loadedAdapters: lora('sql') }), engine('e2', { running: 2, maxLoras: 4 })];
    expect(choose('lora-affinity', engines, { adapter: 'sql' }, router).engine.id).toBe('e2');
    // The default has no limit: e1 keeps the request.
    expect(choose('lora-affinity', engines, { adapter: 'sql' }).engine.id).toBe('e1');
  });
});
