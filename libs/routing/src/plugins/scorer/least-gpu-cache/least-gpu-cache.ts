import Type from 'typebox';
import { definePlugin } from '../../../framework/plugin';
import { fmt, scoreLowerIsBetter } from '../../../load';

export const leastGpuCacheScorer = definePlugin({
  type: 'least-gpu-cache',
  kind: 'scorer',
  summary: "lowest fraction of GPU KV-cache blocks in use, as the engine reports it (vLLM's kv_cache_usage_perc)",
  params: Type.Object({}, { additionalProperties: false }),
  create: (_params, env) => {
    let raw = new Float64Array(0);
    return {
      kind: 'scorer',
      type: 'least-gpu-cache',
      name: env.name,
      score(_request, candidates) {
        raw = new Float64Array(candidates.length);
        for (let i = 0; i < raw.length; i++) raw[i] = candidates[i]!.kvUsage;
        return scoreLowerIsBetter(raw, candidates);
      },
      explain: (i) => `KV cache ${fmt(raw[i]! * 100)}% used`,
    };
  },
});
