import { createRouter } from '../../../create-router';
import { choose, context, engine, request } from '../../../testing/fixtures';

describe('power-of-two', () => {
  it.each([
    // With two engines both are always sampled: the less loaded wins.
    ['two engines: the less loaded', [engine('e1', { running: 5 }), engine('e2', { running: 1 })], 'e2'],
    // Stale e1 looks idle but counts as saturated.
    ['stale counts as saturated', [engine('e1', { stale: true }), engine('e2', { running: 3 })], 'e2'],
    ['a single engine', [engine('e1', { running: 7 })], 'e1'],
  ])('%s → %s', (_case, engines, expected) => {
    expect(choose('power-of-two', engines).engine.id).toBe(expected);
  });

  it('never takes the most loaded of three, and takes the least loaded only when it is sampled', () => {
    const router = createRouter();
    const ctx = context(9);
    const engines = [engine('e1'), engine('e2', { running: 4 }), engine('e3', { running: 9 })];
    const counts: Record<string, number> = { e1: 0, e2: 0, e3: 0 };
    for (let i = 0; i < 3000; i++) counts[router.route(request(), engines, ctx, 'power-of-two').engine.id]!++;
    // e3 loses every pair it is in. e1 wins the pairs {e1,e2} and {e1,e3} (2/3 of draws, ≈ 2000);
    // e2 wins {e2,e3} (1/3, ≈ 1000). ±10% is over 5 standard deviations.
    expect(counts.e3).toBe(0);
    expect(counts.e1).toBeGreaterThan(1800);
    expect(counts.e1).toBeLessThan(2200);
    expect(counts.e2).toBeGreaterThan(900);
    expect(counts.e2).toBeLessThan(1100);
  });

  it('names the two sampled loads', () => {
    expect(choose('power-of-two', [engine('e1', { running: 5 }), engine('e2', { running: 1 })]).reason).toMatch(
      /^less loaded of two sampled \((5 vs 1|1 vs 5) requests\)$/,
    );
  });
});
