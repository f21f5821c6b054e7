import Type from 'typebox';
import { definePlugin } from '../../../framework/plugin';
import { fmt, requestLoad, scoreLowerIsBetter } from '../../../load';

export const leastRequestScorer = definePlugin({
  type: 'least-request',
  kind: 'scorer',
  summary: 'fewest requests held: max(running + waiting, in-flight), per unit of capacity',
  params: Type.Object(
    {
      /** Divide request counts by EngineView.capacity, so a faster GPU counts as less loaded at equal counts. */
      capacityAware: Type.Boolean({ default: true }),
    },
    { additionalProperties: false },
  ),
  create: (params, env) => {
    // Reused while the candidate count stays the same: the Router reads the scores before the next decision.
    let loads = new Float64Array(0);
    let scores = new Float64Array(0);
    return {
      kind: 'scorer',
      type: 'least-request',
      name: env.name,
      score(_request, candidates) {
        if (loads.length !== candidates.length) {
          loads = new Float64Array(candidates.length);
          scores = new Float64Array(candidates.length);
        }
        for (let i = 0; i < loads.length; i++) loads[i] = requestLoad(candidates[i]!, params.capacityAware);
        return scoreLowerIsBetter(loads, candidates, scores);
      },
      explain: (i) => `requests ${fmt(loads[i]!)}${params.capacityAware ? '/capacity' : ''}`,
    };
  },
});
