import { createRouter } from '../../../create-router';
import { type Router } from '../../../framework/router';
import { blocks, chain, choose, context, engine, request } from '../../../testing/fixtures';
import { type BlockHash, type EngineView } from '../../../types';

/** Document A: 20 blocks shared by every question about it; each question adds 3 blocks of its own. */
const question = (q: string, doc = 'A', n = 20) => chain(blocks(doc, n, q, 3));

/** Teaches the router that `engineId` served `hashes`, by routing them there (any strategy learns). */
function teach(router: Router, engineId: string, hashes: BlockHash[]): void {
  router.route(request({ prefixHashes: hashes }), [engine(engineId)], context(), 'least-request');
}

const idle = (n: number, fields: Record<string, Partial<EngineView>> = {}) =>
  Array.from({ length: n }, (_, i) => engine(`e${i + 1}`, fields[`e${i + 1}`] ?? {}));

describe('prefix-cache', () => {
  it('sends a request back to the engine that served its shared prefix', () => {
    const router = createRouter();
    const engines = idle(4);
    // Nothing learned yet: every engine is idle, the tie goes to a seeded draw.
    const first = choose('prefix-cache', engines, { prefixHashes: question('q1') }, router);
    expect(first.reason).toBe('no prefix match; least loaded');
    // Same document, another question: 20 of its 23 blocks were served by the first engine.
    for (const q of ['q2', 'q3', 'q4']) {
      const again = choose('prefix-cache', engines, { prefixHashes: question(q) }, router);
      expect(again.engine.id).toBe(first.engine.id);
      expect(again.reason).toBe('prefix 20/23 blocks');
    }
  });

  describe('one engine (e1) served document A', () => {
    it.each([
      // Within both guards (spread 3 ≤ 16; 3 ≤ mean 1.5 + 3σ 4.85): the cache wins over idle e2.
      [
        'the cache-warm engine, though busier',
        { e1: { running: 3 }, e2: { running: 0 }, e3: { running: 1 }, e4: { running: 2 } },
        4,
        'e1',
      ],
      // Spread exactly 16 still passes the absolute guard (it must exceed 16); 16 ≤ mean 12 + 3σ 20.8.
      [
        'load at the spread limit still counts',
        { e1: { running: 16 }, e2: { running: 0 }, e3: { running: 16 }, e4: { running: 16 } },
        4,
        'e1',
      ],
      // All loads equal (σ = 0): e1 is at mean + 3σ, which passes here; AIBrix's strict "<" would refuse every match.
      ['equal loads keep affinity', { e1: { running: 3 }, e2: { running: 3 }, e3: { running: 3 }, e4: { running: 3 } }, 4, 'e1'],
      // Absolute guard: e1 holds 9 more requests than idle e2 (> 8), so the least loaded engine wins.
      // (The statistical guard alone would pass: 9 ≤ mean 3 + 2σ 7.07.)
      [
        'absolute spread guard → least loaded',
        { e1: { running: 17 }, e2: { running: 0 }, e3: { running: 1 }, e4: { running: 2 } },
        4,
        'e2',
      ],
      // Statistical guard: loads [7, 1×8, 0] → mean 1.5, σ 1.86, ceiling 5.21 < 7 (spread 7 passes the
      // absolute guard) → least loaded, e5.
      [
        'statistical guard (mean + 3σ) → least loaded',
        // 20 engines: e1 at 12 is within the absolute spread (16) but above mean 1.5 + 3 × σ 2.42 = 8.8. (With 10 or
        // fewer engines one outlier can never be 3σ above the mean: the largest z-score of n values is (n−1)/√n.)
        {
          e1: { running: 12 },
          e5: { running: 0 },
          ...Object.fromEntries(
            Array.from({ length: 20 }, (_, k) => `e${k + 1}`)
              .filter((id) => id !== 'e1' && id !== 'e5')
              .map((id) => [id, { running: 1 }]),
          ),
        },
        20,
        'e5',
      ],
      // A stale e1 counts as saturated: the least loaded fresh engine wins.
      [
        'stale warm engine → least loaded',
        { e1: { stale: true }, e2: { running: 2 }, e3: { running: 1 }, e4: { running: 2 } },
        4,
        'e3',
      ],
    ])('%s → %s', (_case, fields, n, expected) => {
      const router = createRouter();
      teach(router, 'e1', question('q0'));
      const decision = choose('prefix-cache', idle(n, fields), { prefixHashes: question('q1') }, router);
      expect(decision.engine.id).toBe(expected);
      expect(decision.reason).toBe(
        expected === 'e1' ? 'prefix 20/23 blocks' : 'prefix 20/23 blocks on e1 over load guard; least loaded',
      );
    });
  });

  describe('e1 served all of document A, e2 its first 10 blocks', () => {
    it.each([
      // Deepest match first: 20 blocks on e1 beat 10 on e2.
      ['the deepest match', {}, 'e1', 'prefix 20/23 blocks'],
      // Still the deepest when busier, within the guards (spread 2).
      [
        'the deepest match over a less loaded shallower one',
        { e1: { running: 2 }, e2: { running: 0 } },
        'e1',
        'prefix 20/23 blocks',
      ],
      // e1 is over the absolute guard (12 > 8); e2's shorter match is still worth taking rather than
      // dropping to the idle e3 as AIBrix would.
      [
        'the next deepest when the deepest is over a guard',
        { e1: { running: 20 }, e2: { running: 1 } },
        'e2',
        'prefix 10/23 blocks',
      ],
    ])('%s → %s', (_case, fields, expected, reason) => {
      const router = createRouter();
      teach(router, 'e1', question('q0'));
      teach(router, 'e2', chain(blocks('A', 10)));
      const decision = choose('prefix-cache', idle(4, fields), { prefixHashes: question('q1') }, router);
      expect(decision.engine.id).toBe(expected);
      expect(decision.reason).toBe(reason);
    });
  });

  describe('in a weighted combination with least-request (min–max normalised terms)', () => {
    // e1 served document A and is among the busiest engines (with e4), within the guards; e2 is idle.
    const fields = { e1: { running: 6 }, e2: { running: 0 }, e3: { running: 3 }, e4: { running: 6 } };
    it.each([
      // The prefix term says "e1, or nothing" (1 vs 0 after normalising); least-request says e2 (1) over e1 (0):
      // 2 × 1 + 0 for e1 beats 0 + 1 for e2. Had the prefix term also ranked non-matches by load, e2 would get
      // ≈ 2 × 0.5 + 1 and win, and the cache would be lost whenever the warm engine is the busiest.
      ['prefix-cache:2,least-request:1', 'e1'],
      ['prefix-cache:3,least-request:2', 'e1'],
      // Weighted toward load, load wins: 1 × 1 + 2 × 0 for e1 against 0 + 2 × 1 for e2.
      ['prefix-cache:1,least-request:2', 'e2'],
    ])('%s → %s', (strategy, expected) => {
      const router = createRouter();
      teach(router, 'e1', question('q0'));
      expect(choose(strategy, idle(4, fields), { prefixHashes: question('q1') }, router).engine.id).toBe(expected);
    });

    it('falls back to load alone when nothing matches', () => {
      const router = createRouter();
      teach(router, 'e1', question('q0'));
      const other = choose('prefix-cache:2,least-request:1', idle(4, fields), { prefixHashes: question('q1', 'B') }, router);
      expect(other.engine.id).toBe('e2');
    });
  });

  it('breaks equal matches by load', () => {
    const router = createRouter();
    teach(router, 'e1', question('q0'));
    teach(router, 'e2', question('q9'));
    // Both served the 20 document blocks; e2 holds 1 request, e1 2.
    const decision = choose(
      'prefix-cache',
      idle(3, { e1: { running: 2 }, e2: { running: 1 } }),
      { prefixHashes: question('q1') },
      router,
    );
    expect(decision.engine.id).toBe('e2');
  });

  it('forgets an engine that was removed', () => {
    const router = createRouter();
    teach(router, 'e1', question('q0'));
    router.engineRemoved('e1');
    // An engine named e1 comes back empty: no match any more.
    const decision = choose('prefix-cache', idle(2, { e2: { running: 1 } }), { prefixHashes: question('q1') }, router);
    expect(decision.reason).toBe('no prefix match; least loaded');
  });

  it('ignores matches shorter than minMatchBlocks', () => {
    const router = createRouter({
      config: { plugins: { 'prefix-cache': { type: 'prefix-cache', params: { minMatchBlocks: 21 } } } },
    });
    teach(router, 'e1', question('q0'));
    // 20 shared blocks < 21: e1 (busier) is not preferred.
    const decision = choose('prefix-cache', idle(2, { e1: { running: 1 } }), { prefixHashes: question('q1') }, router);
    expect(decision.engine.id).toBe('e2');
    expect(decision.reason).toBe('no prefix match; least loaded');
  });

  it('bounds its index with maxBlocks, trimming the oldest prompt from its tail', () => {
    const router = createRouter({ config: { plugins: { 'prefix-cache': { type: 'prefix-cache', params: { maxBlocks: 30 } } } } });
    teach(router, 'e1', question('q0'));
    teach(router, 'e2', question('q0', 'B'));
    // 46 blocks > 30: A's prompt, the older one, keeps its first 7 blocks.
    const decision = choose('prefix-cache', idle(2), { prefixHashes: question('q1') }, router);
    expect(decision.engine.id).toBe('e1');
    expect(decision.reason).toBe('prefix 7/23 blocks');
  });

  it('says when the request carries no prefix hashes', () => {
    expect(choose('prefix-cache', idle(2, { e1: { running: 1 } })).reason).toBe('no prefix hashes; least loaded');
  });
});
