import Type from 'typebox';
import { definePlugin } from '../../../framework/plugin';
import { capacityOf, fmt, scoreLowerIsBetter } from '../../../load';

export const throughputScorer = definePlugin({
  type: 'throughput',
  kind: 'scorer',
  summary: 'lowest weighted token throughput over the last reporting interval, per unit of capacity',
  params: Type.Object(
    {
      /** Weight of prompt tokens/s; AIBrix counts prompt tokens twice. */
      promptWeight: Type.Number({ minimum: 0, default: 2 }),
      generationWeight: Type.Number({ minimum: 0, default: 1 }),
      capacityAware: Type.Boolean({ default: true }),
    },
    { additionalProperties: false },
  ),
  create: (params, env) => {
    let raw = new Float64Array(0);
    return {
      kind: 'scorer',
      type: 'throughput',
      name: env.name,
      score(_request, candidates) {
        raw = new Float64Array(candidates.length);
        for (let i = 0; i < raw.length; i++) {
          const e = candidates[i]!;
          const tps = params.promptWeight * e.promptTokensPerSec + params.generationWeight * e.generationTokensPerSec;
          raw[i] = params.capacityAware ? tps / capacityOf(e) : tps;
        }
        return scoreLowerIsBetter(raw, candidates);
      },
      explain: (i) => `weighted throughput ${fmt(raw[i]!)} tokens/s`,
    };
  },
});
