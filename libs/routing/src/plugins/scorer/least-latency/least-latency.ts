import Type from 'typebox';
import { definePlugin } from '../../../framework/plugin';
import { fmt, scoreLowerIsBetter } from '../../../load';
import { type EngineView } from '../../../types';

/** Mean of a latency field over the fresh engines that report it; 0 when none does. */
function meanKnown(candidates: readonly EngineView[], field: 'ttftMs' | 'itlMs'): number {
  let sum = 0;
  let n = 0;
  for (const e of candidates) {
    const v = e[field];
    if (v !== null && !e.stale) {
      sum += v;
      n++;
    }
  }
  return n > 0 ? sum / n : 0;
}

export const leastLatencyScorer = definePlugin({
  type: 'least-latency',
  kind: 'scorer',
  summary: "lowest expected latency for this request: recent TTFT + recent ITL × the request's expected output tokens",
  params: Type.Object(
    {
      /** Cap on the output tokens used in the estimate, so one huge max_tokens does not make ITL the only term. */
      maxOutputTokens: Type.Integer({ minimum: 1, default: 4096 }),
    },
    { additionalProperties: false },
  ),
  create: (params, env) => {
    let raw = new Float64Array(0);
    return {
      kind: 'scorer',
      type: 'least-latency',
      name: env.name,
      score(request, candidates) {
        // An engine without samples yet (just started, idle) is assumed average: neither favoured nor shunned.
        const ttftGuess = meanKnown(candidates, 'ttftMs');
        const itlGuess = meanKnown(candidates, 'itlMs');
        const outTokens = Math.min(Math.max(request.maxTokens, 1), params.maxOutputTokens);
        raw = new Float64Array(candidates.length);
        for (let i = 0; i < raw.length; i++) {
          const e = candidates[i]!;
          raw[i] = (e.ttftMs ?? ttftGuess) + (e.itlMs ?? itlGuess) * outTokens;
        }
        return scoreLowerIsBetter(raw, candidates);
      },
      explain: (i) => `expected latency ${fmt(raw[i]!)} ms`,
    };
  },
});
