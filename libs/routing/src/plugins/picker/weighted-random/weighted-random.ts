import Type from 'typebox';
import { definePlugin } from '../../../framework/plugin';

export const weightedRandomPicker = definePlugin({
  type: 'weighted-random',
  kind: 'picker',
  summary: 'draws one candidate with probability proportional to score^exponent (seeded)',
  params: Type.Object(
    {
      /** 1 = proportional to score; larger values concentrate traffic on the best-scored engines. */
      exponent: Type.Number({ exclusiveMinimum: 0, maximum: 64, default: 1 }),
    },
    { additionalProperties: false },
  ),
  create: (params, env) => ({
    kind: 'picker',
    type: 'weighted-random',
    name: env.name,
    pick(_request, candidates, scores, ctx) {
      const weights = new Float64Array(candidates.length);
      let total = 0;
      for (let i = 0; i < weights.length; i++) {
        weights[i] = scores[i]! ** params.exponent;
        total += weights[i]!;
      }
      // Every score 0: no preference at all, so draw uniformly.
      if (total <= 0) return Math.floor(ctx.rng.next() * candidates.length);
      let r = ctx.rng.next() * total;
      for (let i = 0; i < weights.length; i++) {
        r -= weights[i]!;
        if (r < 0) return i;
      }
      // Rounding left r at or just above 0: the last candidate with any weight.
      for (let i = weights.length - 1; i >= 0; i--) if (weights[i]! > 0) return i;
      return 0;
    },
  }),
});
