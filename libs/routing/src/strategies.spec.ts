// Properties every built-in strategy shares, checked through createRouter as the gateway uses it.
import { createRouter } from './create-router';
import { UnknownRoutingStrategyError } from './framework/errors';
import { BUILTIN_STRATEGIES } from './plugins/builtin-config';
import { blocks, chain, choose, context, engine, request } from './testing/fixtures';

// e1 is stale and its numbers look perfect (idle, empty cache, 1 ms latencies); e2 is fresh and busy.
const staleButPerfect = engine('e1', { stale: true, ttftMs: 1, itlMs: 1 });
const freshButBusy = engine('e2', {
  running: 6,
  waiting: 2,
  inFlight: 6,
  inFlightTokens: 6000,
  kvUsage: 0.7,
  ttftMs: 300,
  itlMs: 30,
  promptTokensPerSec: 3000,
  generationTokensPerSec: 500,
});

describe('built-in strategies', () => {
  it('offers AIBrix’s strategy names and Brix’s own', () => {
    expect(createRouter().strategies).toEqual([...BUILTIN_STRATEGIES].sort());
    expect(createRouter().defaultStrategy).toBe('least-request');
  });

  // random is the one strategy that never looks at load, by definition.
  it.each(BUILTIN_STRATEGIES.filter((s) => s !== 'random'))('%s treats a stale engine as saturated', (strategy) => {
    expect(choose(strategy, [staleButPerfect, freshButBusy]).engine.id).toBe('e2');
  });

  it('still routes to stale engines when nothing else is left: saturated, not gone', () => {
    expect(choose('least-request', [staleButPerfect]).engine.id).toBe('e1');
  });

  it('lists every valid name when the header names an unknown strategy', () => {
    let error: unknown;
    try {
      choose('round-robin', [freshButBusy]);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(UnknownRoutingStrategyError);
    expect((error as UnknownRoutingStrategyError).validStrategies).toEqual([...BUILTIN_STRATEGIES].sort());
    for (const name of BUILTIN_STRATEGIES) expect((error as Error).message).toContain(name);
  });

  it('combines prefix-cache and least-request with min–max normalised scores', () => {
    const router = createRouter();
    const doc = (q: string) => chain(blocks('D', 20, q, 3));
    router.route(request({ prefixHashes: doc('q0') }), [engine('e1')], context(), 'least-request');
    // e1 served the document and holds 4 requests; e2 holds 2, e3 none.
    const engines = [engine('e1', { running: 4 }), engine('e2', { running: 2 }), engine('e3')];
    // prefix-cache scores: e1 = 0.5 + 0.5·20/23 ≈ 0.935; e2, e3 = 0.5 × load score (0.5·0.5 = 0.25, 0.5·1 = 0.5).
    //   normalised over [0.25, 0.935]: e1 = 1, e2 = 0, e3 ≈ 0.365.
    // least-request scores: e1 = 0, e2 = 0.5, e3 = 1 (already spanning [0, 1]).
    // 2:1 → e1 = (2·1 + 0) / 3 ≈ 0.667, e2 = (0 + 0.5) / 3 ≈ 0.167, e3 = (2·0.365 + 1) / 3 ≈ 0.577 → e1.
    const twoToOne = choose('prefix-cache:2,least-request:1', engines, { prefixHashes: doc('q1') }, router);
    expect(twoToOne.engine.id).toBe('e1');
    expect(twoToOne.score).toBeCloseTo(2 / 3, 12);
    expect(twoToOne.reason).toBe('prefix 20/23 blocks; requests 4/capacity');
    // 1:2 → e1 = 1/3 ≈ 0.333, e2 = 1/3, e3 = (0.365 + 2) / 3 ≈ 0.788 → e3.
    const oneToTwo = choose('prefix-cache:1,least-request:2', engines, { prefixHashes: doc('q2') }, router);
    expect(oneToTwo.engine.id).toBe('e3');
  });

  it('lets a configuration tune a built-in and add a profile without restating the rest', () => {
    const router = createRouter({
      config: {
        defaultStrategy: 'cache-first',
        plugins: { 'prefix-cache': { type: 'prefix-cache', params: { maxLoadSpread: 2 } } },
        profiles: {
          'cache-first': {
            scorers: [
              { plugin: 'prefix-cache', weight: 3 },
              { plugin: 'least-kv-cache', weight: 1 },
            ],
          },
        },
      },
    });
    expect(router.strategies).toContain('cache-first');
    expect(router.strategies).toContain('vtc-basic');
    expect(router.resolveStrategy()).toBe('cache-first');
    const doc = chain(blocks('D', 10));
    router.route(request({ prefixHashes: doc }), [engine('e1')], context(), 'least-request');
    // Spread 3 > the tuned limit 2: the match on e1 no longer counts.
    const decision = choose('prefix-cache', [engine('e1', { running: 3 }), engine('e2')], { prefixHashes: doc }, router);
    expect(decision.engine.id).toBe('e2');
  });
});
