import { createRouter } from '../../../create-router';
import { choose, engine } from '../../../testing/fixtures';

describe('least-request', () => {
  it.each([
    // Fewest running + waiting: e2 holds 1, e1 4, e3 2.
    [
      'fewest requests',
      [engine('e1', { running: 3, waiting: 1 }), engine('e2', { running: 1 }), engine('e3', { running: 2 })],
      'e2',
    ],
    // e1's snapshot lags a burst this router just sent (5 in flight, snapshot says 0): its load is 5, e2's 3.
    ['in-flight beats a lagging snapshot', [engine('e1', { inFlight: 5 }), engine('e2', { running: 3 })], 'e2'],
    // The snapshot already counts this router's 4 requests on e1: load max(4, 4) = 4 < e2's 5 (a sum would say 8).
    ['own requests not counted twice', [engine('e1', { running: 4, inFlight: 4 }), engine('e2', { running: 5 })], 'e1'],
    // Capacity-aware: 6 requests on a capacity-3 H100 is 2 per unit, less than 3 on a capacity-1 A10.
    [
      'load per unit of capacity',
      [engine('e1', { capacity: 3, running: 6, gpuType: 'H100' }), engine('e2', { running: 3, gpuType: 'A10' })],
      'e1',
    ],
    // A stale engine counts as saturated: idle-looking e1 loses to busy fresh e2.
    ['stale counts as saturated', [engine('e1', { stale: true }), engine('e2', { running: 9 })], 'e2'],
  ])('%s → %s', (_case, engines, expected) => {
    const decision = choose('least-request', engines);
    expect(decision.engine.id).toBe(expected);
  });

  it('compares raw counts when capacityAware is off', () => {
    const router = createRouter({
      config: { plugins: { 'least-request': { type: 'least-request', params: { capacityAware: false } } } },
    });
    // Raw counts: 6 on e1 vs 3 on e2, capacity ignored.
    const decision = choose(
      'least-request',
      [engine('e1', { capacity: 3, running: 6 }), engine('e2', { running: 3 })],
      {},
      router,
    );
    expect(decision.engine.id).toBe('e2');
    expect(decision.reason).toBe('requests 3');
  });

  it('explains the load it chose on', () => {
    expect(choose('least-request', [engine('e1', { capacity: 2, running: 3 })]).reason).toBe('requests 1.5/capacity');
  });
});
