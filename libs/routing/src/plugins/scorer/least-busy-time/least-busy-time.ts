import Type from 'typebox';
import { definePlugin } from '../../../framework/plugin';
import { capacityOf, fmt, scoreLowerIsBetter } from '../../../load';
import { type EngineView, type RoutingRequest } from '../../../types';

/**
 * Seconds the engine would need to finish the work it holds plus this request, at its token rate.
 * - Work (tokens): this router's in-flight tokens, or, when the engine reports more requests than this
 *   router has in flight (other gateways, lagging counts), its request count × the mean tokens per
 *   in-flight request (this request's size when nothing is in flight).
 * - Rate (tokens/s): the measured prompt + generation throughput, but at least capacity × reference rate,
 *   because an idle engine's measured throughput says nothing about how fast it could go.
 */
export function busySeconds(e: EngineView, request: RoutingRequest, referenceTokensPerSec: number): number {
  const requestTokens = request.promptTokens + request.maxTokens;
  const meanTokens = e.inFlight > 0 ? e.inFlightTokens / e.inFlight : requestTokens;
  const work = Math.max(e.inFlightTokens, (e.running + e.waiting) * meanTokens) + requestTokens;
  const rate = Math.max(e.promptTokensPerSec + e.generationTokensPerSec, capacityOf(e) * referenceTokensPerSec);
  return work / rate;
}

export const leastBusyTimeScorer = definePlugin({
  type: 'least-busy-time',
  kind: 'scorer',
  summary: 'least estimated time to finish the held work plus this request: tokens held / token rate',
  params: Type.Object(
    {
      /** Token rate (prompt + generation tokens/s) assumed for a capacity-1 engine when measurements are lower. */
      referenceTokensPerSec: Type.Number({ exclusiveMinimum: 0, default: 2000 }),
    },
    { additionalProperties: false },
  ),
  create: (params, env) => {
    let raw = new Float64Array(0);
    return {
      kind: 'scorer',
      type: 'least-busy-time',
      name: env.name,
      score(request, candidates) {
        raw = new Float64Array(candidates.length);
        for (let i = 0; i < raw.length; i++) raw[i] = busySeconds(candidates[i]!, request, params.referenceTokensPerSec);
        return scoreLowerIsBetter(raw, candidates);
      },
      explain: (i) => `busy ${fmt(raw[i]! * 1000)} ms`,
    };
  },
});
