import { formatResetDuration } from './duration';

describe('formatResetDuration', () => {
  it.each([
    // nothing to wait for
    [0, '0s'],
    [-5, '0s'],
    // sub-second: whole milliseconds, rounded up so the client is never early
    [12, '12ms'],
    [0.2, '1ms'],
    [999.1, '1s'],
    // seconds keep up to three decimals, trailing zeros dropped
    [1000, '1s'],
    [1200, '1.2s'],
    [1234.5, '1.235s'],
    // minutes always show their seconds, as in OpenAI's `6m0s`
    [360_000, '6m0s'],
    [61_500, '1m1.5s'],
    // hours show minutes and seconds
    [3_723_500, '1h2m3.5s'],
    [3_600_000, '1h0m0s'],
  ])('formats %p ms as %p', (ms, text) => {
    expect(formatResetDuration(ms)).toBe(text);
  });
});
