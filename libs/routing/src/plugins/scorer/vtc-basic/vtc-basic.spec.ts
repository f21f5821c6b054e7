import { createRouter } from '../../../create-router';
import { type Router } from '../../../framework/router';
import { choose, context, engine, request } from '../../../testing/fixtures';
import { VirtualTokenCounters } from './vtc-basic';

/** Routes a request of `user` with `promptTokens` to a side engine, leaving it in flight (the user stays active). */
function charge(router: Router, user: string, promptTokens: number, id = `${user}-${promptTokens}`) {
  const r = request({ id, user, promptTokens });
  router.route(r, [engine('side')], context(), 'least-request');
  return r;
}

/**
 * Users arriving while others are active are lifted to the least served active user's counter, so every
 * test first makes its users active at 0 tokens together, then serves them different amounts.
 */
function arrive(router: Router, ...users: string[]) {
  for (const user of users) charge(router, user, 0, `${user}-arrival`);
}

/** Three engines whose load ranks are 0, 0.5 and 1. */
const ranked = [engine('e1'), engine('e2', { running: 5 }), engine('e3', { running: 10 })];

describe('vtc-basic', () => {
  describe('places active users by their share of service', () => {
    it.each([
      // L has had 10 tokens of 10..10000: share 0 → the least loaded engine.
      ['L', 'e1'],
      // M: (5000 − 10) / (10000 − 10) ≈ 0.5 → the engine of load rank 0.5.
      ['M', 'e2'],
      // H has had the most: share 1 → the busiest engine, where its requests queue longest.
      ['H', 'e3'],
    ])('user %s → %s', (user, expected) => {
      const router = createRouter();
      arrive(router, 'H', 'M', 'L');
      charge(router, 'H', 10_000);
      charge(router, 'M', 5_000);
      charge(router, 'L', 10);
      const decision = choose('vtc-basic', ranked, { user, promptTokens: 1 }, router);
      expect(decision.engine.id).toBe(expected);
    });
  });

  it('routes requests without a user to the least loaded engine', () => {
    const router = createRouter();
    charge(router, 'H', 10_000);
    const decision = choose('vtc-basic', ranked, {}, router);
    expect([decision.engine.id, decision.reason]).toEqual(['e1', 'no user; least loaded (0 requests)']);
  });

  it('lifts a returning user to the least served active user, so idle time is not banked', () => {
    const router = createRouter();
    arrive(router, 'A', 'B');
    const c = charge(router, 'C', 0);
    // C goes idle at 0 tokens while A and B are served 1000 and 5000.
    router.completed(c, 'side', { promptTokens: 0, completionTokens: 0, ok: true });
    charge(router, 'A', 1000);
    charge(router, 'B', 5000);
    // On return C is lifted to A's 1000 (the least served active user), then charged 3000 → 4000.
    charge(router, 'C', 3000);
    // Share (4000 − 1000) / (5000 − 1000) = 0.75 → load rank 0.75 among ranks 0, .25, .5, .75, 1 → e4.
    // Without the lift C would sit at 3000, share 0.5 → e3.
    const five = [0, 1, 2, 3, 4].map((running, i) => engine(`e${i + 1}`, { running }));
    expect(choose('vtc-basic', five, { user: 'C', promptTokens: 1 }, router).engine.id).toBe('e4');
  });

  it('charges generated tokens at completion, twice the weight of prompt tokens', () => {
    const router = createRouter();
    arrive(router, 'P', 'Q', 'R');
    const p1 = charge(router, 'P', 500, 'p1');
    charge(router, 'P', 500, 'p2');
    charge(router, 'Q', 1500);
    charge(router, 'R', 100);
    // P 1000, Q 1500, R 100: P's share (1000 − 100) / 1400 ≈ 0.64 → rank 0.5 engine.
    expect(choose('vtc-basic', ranked, { user: 'P', promptTokens: 0 }, router).engine.id).toBe('e2');
    router.completed(p1, 'side', { promptTokens: 500, completionTokens: 400, ok: true });
    // P = 1000 + 2·400 = 1800 > Q's 1500: now the most served → the busiest engine.
    expect(choose('vtc-basic', ranked, { user: 'P', promptTokens: 0 }, router).engine.id).toBe('e3');
  });

  it('treats stale engines as saturated, even for the most served user', () => {
    const router = createRouter();
    arrive(router, 'H', 'L');
    charge(router, 'H', 10_000);
    charge(router, 'L', 10);
    // The light user wants the least loaded engine: stale e1 looks idle but ranks as the most loaded.
    const decision = choose(
      'vtc-basic',
      [engine('e1', { stale: true }), engine('e2', { running: 5 }), engine('e3', { running: 10 })],
      { user: 'L', promptTokens: 1 },
      router,
    );
    expect(decision.engine.id).toBe('e2');
  });
});

describe('VirtualTokenCounters', () => {
  it('counts weighted tokens, corrects the prompt estimate and lifts returning users', () => {
    const vtc = new VirtualTokenCounters(100, 1, 2);
    vtc.routed('a', 500);
    vtc.routed('a', 500);
    // Estimated 500, engine counted 700: +200; 400 generated at weight 2: +800 → 2000.
    vtc.completed('a', 500, 700, 400);
    expect(vtc.counter('a')).toBe(2000);
    // b arrives while a (2000) is active: lifted to 2000, then charged 10.
    vtc.routed('b', 10);
    expect(vtc.counter('b')).toBe(2010);
    // A failed request with no usage keeps the estimate: prompt correction only when the engine reported tokens.
    vtc.completed('b', 10, 0, 0);
    expect(vtc.counter('b')).toBe(2010);
  });

  it('forgets the least recently seen user beyond maxUsers', () => {
    const vtc = new VirtualTokenCounters(2, 1, 2);
    vtc.routed('a', 1);
    vtc.routed('b', 1);
    vtc.routed('c', 1);
    expect([vtc.counter('a'), vtc.counter('b'), vtc.counter('c')]).toEqual([undefined, 2, 2]);
  });
});
