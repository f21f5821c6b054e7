import { choose, engine } from '../../../testing/fixtures';

describe('least-gpu-cache', () => {
  it.each([
    // Lowest KV usage as reported: 30% on e2.
    ['lowest KV usage', [engine('e1', { kvUsage: 0.8 }), engine('e2', { kvUsage: 0.3 }), engine('e3', { kvUsage: 0.5 })], 'e2'],
    // Only current usage counts: e1's queue (4 waiting) does not, so 40% beats 60%.
    [
      'ignores the queue',
      [engine('e1', { kvUsage: 0.4, running: 4, waiting: 4 }), engine('e2', { kvUsage: 0.6, running: 6 })],
      'e1',
    ],
    // Stale e1 claims an empty cache but counts as saturated.
    ['stale counts as saturated', [engine('e1', { stale: true, kvUsage: 0 }), engine('e2', { kvUsage: 0.9 })], 'e2'],
  ])('%s → %s', (_case, engines, expected) => {
    expect(choose('least-gpu-cache', engines).engine.id).toBe(expected);
  });
});
