import Type from 'typebox';
import { definePlugin } from '../../../framework/plugin';
import { loadStats, requestLoad, scoreLowerIsBetter } from '../../../load';
import { PrefixIndex } from '../../../state/prefix-index';

/** Why a candidate got its prefix-cache score. */
const Verdict = { match: 0, guarded: 1, none: 2 } as const;
type Verdict = (typeof Verdict)[keyof typeof Verdict];

export const prefixCacheScorer = definePlugin({
  type: 'prefix-cache',
  kind: 'scorer',
  summary: 'deepest learned prefix match among engines within the load guards, else least loaded',
  params: Type.Object(
    {
      /** Bound on blocks the shared prefix index keeps (LRU). At 128 bytes a block, 200k blocks ≈ 25 MB of prompt text. */
      maxBlocks: Type.Integer({ minimum: 1, default: 200_000 }),
      /** Absolute guard: a match counts only on an engine whose load exceeds the least loaded one's by at most this many requests. */
      maxLoadSpread: Type.Number({ minimum: 0, default: 16 }),
      /** Statistical guard: a match counts only on an engine whose load is at most mean + stdDevFactor × σ of the candidates' loads. */
      stdDevFactor: Type.Number({ minimum: 0, default: 3 }),
      /** Matches shorter than this many blocks are ignored (a shared chat template is not worth a detour). */
      minMatchBlocks: Type.Integer({ minimum: 1, default: 1 }),
      capacityAware: Type.Boolean({ default: true }),
    },
    { additionalProperties: false },
  ),
  create: (params, env) => {
    const index = env.shared(`prefix-index/${params.maxBlocks}`, () => new PrefixIndex(params.maxBlocks));
    // Buffers reused while the candidate count stays the same: the Router reads the scores (and explain() these) before
    // the next decision.
    let depths: Int32Array = new Int32Array(0);
    let verdicts = new Uint8Array(0);
    let loads = new Float64Array(0);
    let loadScores = new Float64Array(0);
    let scores = new Float64Array(0);
    const ids: string[] = [];
    let total = 0;
    let guardedDepth = 0;
    let guardedEngine = '';
    return {
      kind: 'scorer',
      type: 'prefix-cache',
      name: env.name,
      score(request, candidates) {
        const n = candidates.length;
        if (loads.length !== n) {
          depths = new Int32Array(n);
          verdicts = new Uint8Array(n);
          loads = new Float64Array(n);
          loadScores = new Float64Array(n);
          scores = new Float64Array(n);
        }
        for (let i = 0; i < n; i++) loads[i] = requestLoad(candidates[i]!, params.capacityAware);
        scoreLowerIsBetter(loads, candidates, loadScores);
        const { min, mean, sd } = loadStats(loads, candidates);
        const ceiling = mean + params.stdDevFactor * sd + 1e-9;
        ids.length = n;
        for (let i = 0; i < n; i++) ids[i] = candidates[i]!.id;
        index.match(request.prefixHashes, ids, depths);
        total = request.prefixHashes.length;
        guardedDepth = 0;
        guardedEngine = '';
        let matched = false;
        for (let i = 0; i < n; i++) {
          const depth = depths[i]!;
          let verdict: Verdict = Verdict.none;
          if (depth >= params.minMatchBlocks) {
            const e = candidates[i]!;
            const withinGuards = !e.stale && loads[i]! - min <= params.maxLoadSpread + 1e-9 && loads[i]! <= ceiling;
            verdict = withinGuards ? Verdict.match : Verdict.guarded;
            matched ||= withinGuards;
            if (!withinGuards && depth > guardedDepth) {
              guardedDepth = depth;
              guardedEngine = e.id;
            }
          }
          verdicts[i] = verdict;
        }
        // Matches rank above every non-match (> 0.5), deeper first. The rest rank by load (≤ 0.5) only when nothing
        // matched: beside a match they score 0, so that in a weighted combination (min–max normalised per term) this
        // term says "the match, or nothing" and load is weighed once, by the load term, not twice.
        scores.fill(0);
        for (let i = 0; i < n; i++) {
          if (verdicts[i] === Verdict.match) scores[i] = 0.5 + (0.5 * depths[i]!) / total;
          else if (!matched) scores[i] = 0.5 * loadScores[i]!;
        }
        return scores;
      },
      explain(i) {
        if (verdicts[i] === Verdict.match) return `prefix ${depths[i]}/${total} blocks`;
        if (guardedEngine) return `prefix ${guardedDepth}/${total} blocks on ${guardedEngine} over load guard; least loaded`;
        return total === 0 ? 'no prefix hashes; least loaded' : 'no prefix match; least loaded';
      },
    };
  },
});
