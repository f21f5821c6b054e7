import { createRouter } from '../../../create-router';
import { type Router } from '../../../framework/router';
import { blocks, chain, choose, context, engine, request } from '../../../testing/fixtures';
import { type RoutingRequest } from '../../../types';

const doc = (q: string) => chain(blocks('A', 20, q, 3));

function teach(router: Router, engineId: string, fields: Partial<RoutingRequest>): void {
  router.route(request(fields), [engine(engineId)], context(), 'least-request');
}

describe('sticky-until-saturated', () => {
  // The default limit is 32768 in-flight tokens per unit of capacity.
  it.each([
    // e1 served the document and holds 20000 tokens, under the limit: stay, though e2 and e3 are idle.
    [
      'stays on the warm engine below the limit',
      { inFlightTokens: 20_000, running: 12 },
      'e1',
      'prefix 20/23 blocks, below token limit',
    ],
    // 40000 tokens > 32768: spread by token load; e3 holds the least (1000).
    [
      'leaves it above the limit',
      { inFlightTokens: 40_000 },
      'e3',
      'warm engine over 32768 in-flight tokens; least token load (1000)',
    ],
    // Capacity 2 halves the load: 40000 / 2 = 20000 ≤ 32768, so it stays.
    ['limit per unit of capacity', { inFlightTokens: 40_000, capacity: 2 }, 'e1', 'prefix 20/23 blocks, below token limit'],
    // Stale counts as saturated.
    ['stale warm engine is left', { stale: true }, 'e3', 'warm engine over 32768 in-flight tokens; least token load (1000)'],
  ])('%s → %s', (_case, warm, expected, reason) => {
    const router = createRouter();
    teach(router, 'e1', { prefixHashes: doc('q0') });
    const engines = [engine('e1', warm), engine('e2', { inFlightTokens: 5000 }), engine('e3', { inFlightTokens: 1000 })];
    const decision = choose('sticky-until-saturated', engines, { prefixHashes: doc('q1') }, router);
    expect([decision.engine.id, decision.reason]).toEqual([expected, reason]);
  });

  it('stays where prefix-cache would leave: 20 requests more than idle engines is no reason to move', () => {
    const router = createRouter();
    teach(router, 'e1', { prefixHashes: doc('q0') });
    const engines = [engine('e1', { running: 20, inFlightTokens: 20_000 }), engine('e2'), engine('e3')];
    expect(choose('sticky-until-saturated', engines, { prefixHashes: doc('q1') }, router).engine.id).toBe('e1');
    // prefix-cache's spread guard (20 > 16) sends it away.
    expect(choose('prefix-cache', engines, { prefixHashes: doc('q2') }, router).engine.id).not.toBe('e1');
  });

  it('prefers the session engine over a prefix match, until the session engine saturates', () => {
    const router = createRouter();
    teach(router, 'e1', { prefixHashes: doc('q0') });
    teach(router, 'e2', { sessionId: 's1' });
    const both = choose(
      'sticky-until-saturated',
      [engine('e1'), engine('e2', { inFlightTokens: 9000 })],
      { sessionId: 's1', prefixHashes: doc('q1') },
      router,
    );
    expect([both.engine.id, both.reason]).toEqual(['e2', 'session engine below token limit']);
    // That request re-pinned s1 to e2 again; now e2 is over the limit, so the prefix engine e1 takes it.
    const saturated = choose(
      'sticky-until-saturated',
      [engine('e1'), engine('e2', { inFlightTokens: 50_000 })],
      { sessionId: 's1', prefixHashes: doc('q2') },
      router,
    );
    expect([saturated.engine.id, saturated.reason]).toEqual(['e1', 'prefix 20/23 blocks, below token limit']);
  });

  it('spreads by token load when nothing is warm', () => {
    const decision = choose('sticky-until-saturated', [
      engine('e1', { inFlightTokens: 300 }),
      engine('e2', { inFlightTokens: 100 }),
    ]);
    expect([decision.engine.id, decision.reason]).toEqual(['e2', 'no warm engine; least token load (100)']);
  });
});
