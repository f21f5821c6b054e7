import { choose, engine } from '../../../testing/fixtures';

describe('throughput', () => {
  it.each([
    // Weighted 2 × prompt + generation: e1 = 2·1000 + 100 = 2100, e2 = 2·200 + 1500 = 1900.
    [
      'lowest weighted token throughput',
      [
        engine('e1', { promptTokensPerSec: 1000, generationTokensPerSec: 100 }),
        engine('e2', { promptTokensPerSec: 200, generationTokensPerSec: 1500 }),
      ],
      'e2',
    ],
    // Per unit of capacity: e1 = (2·1000 + 1000) / 2 = 1500 < e2 = 1900.
    [
      'throughput per unit of capacity',
      [
        engine('e1', { capacity: 2, promptTokensPerSec: 1000, generationTokensPerSec: 1000 }),
        engine('e2', { promptTokensPerSec: 200, generationTokensPerSec: 1500 }),
      ],
      'e1',
    ],
    // Stale e1 reports no throughput at all but counts as saturated.
    ['stale counts as saturated', [engine('e1', { stale: true }), engine('e2', { promptTokensPerSec: 5000 })], 'e2'],
  ])('%s → %s', (_case, engines, expected) => {
    expect(choose('throughput', engines).engine.id).toBe(expected);
  });
});
