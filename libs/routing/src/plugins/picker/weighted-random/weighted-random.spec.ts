import { type Picker } from '../../../framework/plugin';
import { Registry } from '../../../framework/registry';
import { context, engine, pluginEnv, request } from '../../../testing/fixtures';
import { weightedRandomPicker } from './weighted-random';

const build = (params: object = {}) =>
  new Registry()
    .register(weightedRandomPicker)
    .instantiate('weighted-random', params, pluginEnv('weighted-random'), 'test') as Picker;
const three = [engine('e1'), engine('e2'), engine('e3')];

function histogram(picker: Picker, scores: number[], draws = 4000): number[] {
  const ctx = context(3);
  const counts = [0, 0, 0];
  for (let i = 0; i < draws; i++) counts[picker.pick(request(), three, scores, ctx)]!++;
  return counts;
}

describe('weighted-random', () => {
  it('draws in proportion to score, never a zero score', () => {
    const [a, b, c] = histogram(build(), [0.25, 0, 0.75]);
    // Expected 1000 : 0 : 3000; ±10% of 1000 is over 3.6 standard deviations (σ ≈ 27).
    expect(b).toBe(0);
    expect(a).toBeGreaterThan(900);
    expect(a).toBeLessThan(1100);
    expect(c).toBe(4000 - a!);
  });

  it('sharpens with the exponent', () => {
    // exponent 2: weights 0.0625 : 0 : 0.5625 → 10% : 0 : 90%, so about 400 for the first.
    const [a] = histogram(build({ exponent: 2 }), [0.25, 0, 0.75]);
    expect(a).toBeGreaterThan(320);
    expect(a).toBeLessThan(480);
  });

  it('draws uniformly when every score is 0', () => {
    for (const n of histogram(build(), [0, 0, 0], 3000)) {
      // 1000 each expected; ±10% is over 3.8 standard deviations.
      expect(n).toBeGreaterThan(900);
      expect(n).toBeLessThan(1100);
    }
  });
});
