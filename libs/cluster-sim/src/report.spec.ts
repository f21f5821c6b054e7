import { coefficientOfVariation, quantileSorted, Samples, summarize } from './report';

describe('report statistics', () => {
  it.each([
    // 1..5: the median is the middle value; p90 lies 60% of the way from 4 to 5 (position 0.9 × 4 = 3.6)
    [[5, 1, 4, 2, 3], { count: 5, mean: 3, p50: 3, p90: 4.6, p99: 4.96, max: 5 }],
    // one value: every statistic is that value
    [[7], { count: 1, mean: 7, p50: 7, p90: 7, p99: 7, max: 7 }],
    // none: zeros rather than NaN, so reports stay comparable with toEqual
    [[], { count: 0, mean: 0, p50: 0, p90: 0, p99: 0, max: 0 }],
  ])('summarizes %p', (values, expected) => {
    const s = summarize(values);
    expect(s.count).toBe(expected.count);
    for (const k of ['mean', 'p50', 'p90', 'p99', 'max'] as const) expect(s[k]).toBeCloseTo(expected[k], 9);
  });

  it('interpolates quantiles linearly between order statistics', () => {
    // 0, 10, 20, 30: q = 0.5 sits halfway between 10 and 20
    expect(quantileSorted([0, 10, 20, 30], 0.5)).toBe(15);
    expect(quantileSorted([0, 10, 20, 30], 1)).toBe(30);
  });

  it.each([
    // equal loads: no spread
    [[4, 4, 4, 4], 0],
    // mean 2, population σ 1: CV 0.5
    [[1, 3, 1, 3], 0.5],
    // nothing served anywhere: defined as 0
    [[0, 0], 0],
  ])('computes the coefficient of variation of %p', (values, cv) => {
    expect(coefficientOfVariation(values)).toBeCloseTo(cv, 9);
  });

  it('grows a sample buffer without losing values', () => {
    const s = new Samples();
    for (let i = 0; i < 5000; i++) s.push(i);
    expect(s.length).toBe(5000);
    expect(s.values()[4999]).toBe(4999);
    expect(summarize(s.values()).mean).toBe(2499.5);
  });
});
