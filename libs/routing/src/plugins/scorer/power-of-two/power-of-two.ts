import Type from 'typebox';
import { definePlugin } from '../../../framework/plugin';
import { fmt, requestLoad, requestLoadScores } from '../../../load';

export const powerOfTwoScorer = definePlugin({
  type: 'power-of-two',
  kind: 'scorer',
  summary: 'samples two candidates with ctx.rng; they score 0.5 + 0.5 × load score, every other candidate 0',
  params: Type.Object(
    {
      capacityAware: Type.Boolean({ default: true }),
    },
    { additionalProperties: false },
  ),
  create: (params, env) => {
    let sampled: readonly [number, number] = [-1, -1];
    let loads: number[] = [];
    return {
      kind: 'scorer',
      type: 'power-of-two',
      name: env.name,
      score(_request, candidates, ctx) {
        const n = candidates.length;
        const scores = new Float64Array(n);
        if (n === 1) {
          sampled = [0, 0];
          scores[0] = 1;
        } else {
          const a = Math.floor(ctx.rng.next() * n);
          let b = Math.floor(ctx.rng.next() * (n - 1));
          if (b >= a) b++;
          sampled = [a, b];
          // Load scores over all candidates order the two sampled ones exactly as their loads do.
          const load = requestLoadScores(candidates, params.capacityAware);
          scores[a] = 0.5 + 0.5 * load[a]!;
          scores[b] = 0.5 + 0.5 * load[b]!;
        }
        loads = sampled.map((i) => requestLoad(candidates[i]!, params.capacityAware));
        return scores;
      },
      explain: (i) =>
        sampled.includes(i) ? `less loaded of two sampled (${fmt(loads[0]!)} vs ${fmt(loads[1]!)} requests)` : 'not sampled',
    };
  },
});
