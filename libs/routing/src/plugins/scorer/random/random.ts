import Type from 'typebox';
import { definePlugin } from '../../../framework/plugin';

export const randomScorer = definePlugin({
  type: 'random',
  kind: 'scorer',
  summary: 'an independent uniform draw per candidate from ctx.rng (the max-score pick is then uniform)',
  params: Type.Object({}, { additionalProperties: false }),
  create: (_params, env) => ({
    kind: 'scorer',
    type: 'random',
    name: env.name,
    score(_request, candidates, ctx) {
      const scores = new Float64Array(candidates.length);
      for (let i = 0; i < scores.length; i++) scores[i] = ctx.rng.next();
      return scores;
    },
    explain: () => 'random',
  }),
});
