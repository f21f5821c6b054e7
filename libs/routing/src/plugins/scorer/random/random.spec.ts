import { createRouter } from '../../../create-router';
import { context, engine, request } from '../../../testing/fixtures';

describe('random', () => {
  it('spreads uniformly and ignores load', () => {
    const router = createRouter();
    const ctx = context(5);
    // e1 is far busier than the others; random does not look.
    const engines = [engine('e1', { running: 50 }), engine('e2'), engine('e3')];
    const counts: Record<string, number> = { e1: 0, e2: 0, e3: 0 };
    for (let i = 0; i < 3000; i++) counts[router.route(request(), engines, ctx, 'random').engine.id]!++;
    // 1000 expected each; ±10% is over 6 standard deviations (σ ≈ 26).
    for (const id of ['e1', 'e2', 'e3']) {
      expect(counts[id]).toBeGreaterThan(900);
      expect(counts[id]).toBeLessThan(1100);
    }
  });
});
