import { TokenRatio } from './token-ratio';

describe('TokenRatio', () => {
  it('keeps estimates unchanged until enough tokens were seen', () => {
    const r = new TokenRatio({ minEstimatedTokens: 256 });
    r.learn('m', 100, 150);
    r.learn('m', 100, 150);
    // 200 estimated tokens seen < 256: still 1
    expect(r.ratio('m')).toBe(1);
    r.learn('m', 100, 150);
    // 300 seen; every sample had actual = 1.5 × estimate
    expect(r.ratio('m')).toBeCloseTo(1.5, 10);
    expect(r.refine('m', 1000)).toBe(1500);
  });

  it('learns per model', () => {
    const r = new TokenRatio({ minEstimatedTokens: 1 });
    r.learn('a', 100, 50);
    r.learn('b', 100, 200);
    expect([r.ratio('a'), r.ratio('b'), r.ratio('unknown')]).toEqual([0.5, 2, 1]);
  });

  it('weighs long prompts more than short ones', () => {
    const r = new TokenRatio({ minEstimatedTokens: 1, decay: 1 });
    // a 10-token prompt that is 3× its estimate (chat template overhead), then a 1000-token one that is exact
    r.learn('m', 10, 30);
    r.learn('m', 1000, 1000);
    // (30 + 1000) / (10 + 1000)
    expect(r.ratio('m')).toBeCloseTo(1030 / 1010, 10);
  });

  it.each([
    // 100× the estimate is clamped to the upper bound 4
    [100, 10_000, 4],
    // 1/100 is clamped to the lower bound 0.25
    [10_000, 100, 0.25],
  ])('clamps the ratio (estimate %p, actual %p)', (estimate, actual, expected) => {
    const r = new TokenRatio({ minEstimatedTokens: 1 });
    r.learn('m', estimate, actual);
    expect(r.ratio('m')).toBe(expected);
  });

  it('follows a change of traffic', () => {
    const r = new TokenRatio({ minEstimatedTokens: 1, decay: 0.9 });
    for (let i = 0; i < 100; i++) r.learn('m', 100, 100);
    for (let i = 0; i < 100; i++) r.learn('m', 100, 200);
    // after 100 samples at decay 0.9 the old traffic weighs 0.9^100 ≈ 3e-5: the ratio is ≈ 2
    expect(r.ratio('m')).toBeCloseTo(2, 3);
  });
});
