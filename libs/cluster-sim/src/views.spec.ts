import { VirtualClock } from '@brix/clock';
import { type EngineCounters, type EngineSnapshot, zeroCounters } from '@brix/engine-model';
import { LoadReporter, SimEngineView } from './views';

function snapshot(fields: Partial<EngineSnapshot>, counters: Partial<EngineCounters> = {}): EngineSnapshot {
  return {
    timeMs: 0,
    running: 0,
    waiting: 0,
    kvCacheUsage: 0,
    cachedBlocks: 0,
    counters: { ...zeroCounters(), ...counters },
    lora: { maxLoras: 1, running: [], waiting: [], registered: [], loaded: [] },
    ...fields,
  };
}

describe('LoadReporter', () => {
  it('reports gauges as they are and rates and means over the interval since the previous report', () => {
    const clock = new VirtualClock(0);
    const view = new SimEngineView('e', 'm', 'H100', 1, 1024, undefined, clock, 1000);
    const reporter = new LoadReporter(view);

    // before any report the view is stale (saturated for routing)
    expect(view.stale).toBe(true);

    reporter.report(snapshot({ running: 3, waiting: 1, kvCacheUsage: 0.25 }, { promptTokens: 1000, generationTokens: 50 }), 0);
    // the first report has gauges but no interval: zero rates, no latency means
    expect(view).toMatchObject({
      running: 3,
      waiting: 1,
      kvUsage: 0.25,
      promptTokensPerSec: 0,
      generationTokensPerSec: 0,
      ttftMs: null,
      itlMs: null,
    });
    expect(view.stale).toBe(false);

    clock.advance(500);
    reporter.report(
      snapshot(
        {
          running: 5,
          waiting: 0,
          kvCacheUsage: 0.5,
          lora: { maxLoras: 2, running: [], waiting: [], registered: ['sql'], loaded: ['sql'] },
        },
        { promptTokens: 3000, generationTokens: 250, ttftMsSum: 90, ttftCount: 2, itlMsSum: 400, itlCount: 40 },
      ),
      500,
    );
    expect(view).toMatchObject({
      running: 5,
      kvUsage: 0.5,
      promptTokensPerSec: 4000, // 2000 tokens in 0.5 s
      generationTokensPerSec: 400, // 200 tokens in 0.5 s
      ttftMs: 45, // 90 ms over 2 first tokens
      itlMs: 10, // 400 ms over 40 gaps
    });
    expect([...view.loadedAdapters]).toEqual(['sql']);

    clock.advance(100);
    reporter.report(
      snapshot({}, { promptTokens: 3000, generationTokens: 250, ttftMsSum: 90, ttftCount: 2, itlMsSum: 400, itlCount: 40 }),
      600,
    );
    // nothing happened in the last interval: zero rates, and no latency observations to average
    expect(view).toMatchObject({ promptTokensPerSec: 0, generationTokensPerSec: 0, ttftMs: null, itlMs: null });

    // state older than the freshness bound (1000 ms) counts as stale again
    clock.advance(1001);
    expect(view.stale).toBe(true);
  });
});
