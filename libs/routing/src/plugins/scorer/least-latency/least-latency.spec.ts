import { choose, engine } from '../../../testing/fixtures';

describe('least-latency', () => {
  const fastStart = engine('e1', { ttftMs: 100, itlMs: 50 });
  const fastDecode = engine('e2', { ttftMs: 400, itlMs: 10 });

  it.each([
    // 100 output tokens: e1 = 100 + 50·100 = 5100 ms, e2 = 400 + 10·100 = 1400 ms.
    ['long answers favour fast decoding', [fastStart, fastDecode], { maxTokens: 100 }, 'e2'],
    // 1 output token: e1 = 150 ms, e2 = 410 ms.
    ['short answers favour fast first tokens', [fastStart, fastDecode], { maxTokens: 1 }, 'e1'],
    // e3 reports nothing: assumed average (TTFT 200, ITL 20 → 2200 ms); e1 = 1100 ms is still better.
    [
      'an engine without samples is assumed average',
      [engine('e1', { ttftMs: 100, itlMs: 10 }), engine('e2', { ttftMs: 300, itlMs: 30 }), engine('e3')],
      { maxTokens: 100 },
      'e1',
    ],
    // Stale e1 reports 1 ms latencies but counts as saturated.
    ['stale counts as saturated', [engine('e1', { stale: true, ttftMs: 1, itlMs: 1 }), fastDecode], { maxTokens: 100 }, 'e2'],
  ])('%s → %s', (_case, engines, fields, expected) => {
    expect(choose('least-latency', engines, fields).engine.id).toBe(expected);
  });

  it('explains the expected latency', () => {
    expect(choose('least-latency', [fastDecode], { maxTokens: 100 }).reason).toBe('expected latency 1400 ms');
  });
});
