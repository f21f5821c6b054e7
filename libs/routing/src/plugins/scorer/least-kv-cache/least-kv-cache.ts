import Type from 'typebox';
import { definePlugin } from '../../../framework/plugin';
import { fmt, scoreLowerIsBetter } from '../../../load';
import { type EngineView } from '../../../types';

/**
 * KV the engine will need once its queue is admitted: the usage of the running batch scaled by
 * (running + waiting) / running, i.e. each waiting request assumed to need as much KV as an average
 * running one. Equals kvUsage when nothing waits; may exceed 1 (the queue will not fit).
 */
export function projectedKvUsage(e: EngineView): number {
  return e.running > 0 ? (e.kvUsage * (e.running + e.waiting)) / e.running : e.kvUsage;
}

export const leastKvCacheScorer = definePlugin({
  type: 'least-kv-cache',
  kind: 'scorer',
  summary: 'lowest projected KV-cache demand: blocks in use scaled up by the waiting queue',
  params: Type.Object({}, { additionalProperties: false }),
  create: (_params, env) => {
    let raw = new Float64Array(0);
    return {
      kind: 'scorer',
      type: 'least-kv-cache',
      name: env.name,
      score(_request, candidates) {
        raw = new Float64Array(candidates.length);
        for (let i = 0; i < raw.length; i++) raw[i] = projectedKvUsage(candidates[i]!);
        return scoreLowerIsBetter(raw, candidates);
      },
      explain: (i) => `projected KV ${fmt(raw[i]! * 100)}%`,
    };
  },
});
