import { choose, engine, request } from '../../../testing/fixtures';
import { busySeconds } from './least-busy-time';

describe('least-busy-time', () => {
  // The request adds 100 prompt + 100 output = 200 tokens; the reference rate is 2000 tokens/s per unit of capacity.
  it.each([
    // e1: 4000 tokens in flight + 200 at 2000 tok/s = 2.1 s; e2: 200 tokens = 0.1 s.
    ['least held work', [engine('e1', { running: 2, inFlight: 2, inFlightTokens: 4000 }), engine('e2')], 'e2'],
    // e1 holds more (4200 tokens) but measures 6000 tok/s → 0.7 s; e2: 2200 tokens at 2000 tok/s → 1.1 s.
    [
      'a faster engine finishes more work sooner',
      [
        engine('e1', { running: 2, inFlight: 2, inFlightTokens: 4000, promptTokensPerSec: 5000, generationTokensPerSec: 1000 }),
        engine('e2', { running: 1, inFlight: 1, inFlightTokens: 2000 }),
      ],
      'e1',
    ],
    // e1 runs 10 requests from other gateways (none in flight here), sized like this one: 10·200 + 200 = 2200
    // tokens → 1.1 s; e2: max(1000, 1·1000) + 200 = 1200 tokens → 0.6 s.
    [
      'counts requests it did not send',
      [engine('e1', { running: 10 }), engine('e2', { running: 1, inFlight: 1, inFlightTokens: 1000 })],
      'e2',
    ],
    // Same work, but e1's capacity 4 sets its rate floor at 8000 tok/s.
    [
      'capacity raises the rate of an idle-looking engine',
      [
        engine('e1', { capacity: 4, running: 1, inFlight: 1, inFlightTokens: 3000 }),
        engine('e2', { running: 1, inFlight: 1, inFlightTokens: 3000 }),
      ],
      'e1',
    ],
    [
      'stale counts as saturated',
      [engine('e1', { stale: true }), engine('e2', { running: 5, inFlight: 5, inFlightTokens: 9000 })],
      'e2',
    ],
  ])('%s → %s', (_case, engines, expected) => {
    expect(choose('least-busy-time', engines).engine.id).toBe(expected);
  });

  it('estimates seconds of work', () => {
    // (4000 + 200) tokens / 2000 tokens/s.
    expect(busySeconds(engine('e', { running: 2, inFlight: 2, inFlightTokens: 4000 }), request(), 2000)).toBeCloseTo(2.1, 12);
  });
});
