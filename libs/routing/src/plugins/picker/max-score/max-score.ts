import Type from 'typebox';
import { definePlugin } from '../../../framework/plugin';
import { requestLoad } from '../../../load';

/** Scores closer than this count as equal (sums of weighted floats are not exact). */
export const SCORE_EPSILON = 1e-9;

export const maxScorePicker = definePlugin({
  type: 'max-score',
  kind: 'picker',
  summary: 'highest combined score; ties go to the less loaded engine, then to a seeded random draw',
  params: Type.Object(
    {
      /** Compare tie loads per unit of EngineView.capacity. */
      capacityAware: Type.Boolean({ default: true }),
    },
    { additionalProperties: false },
  ),
  create: (params, env) => ({
    kind: 'picker',
    type: 'max-score',
    name: env.name,
    pick(_request, candidates, scores, ctx) {
      let best = -Infinity;
      for (let i = 0; i < scores.length; i++) if (scores[i]! > best) best = scores[i]!;
      // Among the (near-)best, the least request load wins; stale engines count as saturated.
      let bestLoad = Infinity;
      let tied: number[] = [];
      for (let i = 0; i < scores.length; i++) {
        if (scores[i]! < best - SCORE_EPSILON) continue;
        const e = candidates[i]!;
        const load = e.stale ? Infinity : requestLoad(e, params.capacityAware);
        if (load < bestLoad) {
          bestLoad = load;
          tied = [i];
        } else if (load === bestLoad) {
          tied.push(i);
        }
      }
      return tied.length === 1 ? tied[0]! : tied[Math.floor(ctx.rng.next() * tied.length)]!;
    },
  }),
});
