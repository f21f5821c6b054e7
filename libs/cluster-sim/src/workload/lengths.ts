import Type, { type Static } from 'typebox';
import { type Rng } from '@brix/clock';

/**
 * A distribution of token counts (prompt parts, output lengths), drawn from a seeded {@link Rng}:
 * - a number: always that many;
 * - `uniform`: an integer in [min, max], each equally likely;
 * - `log-normal`: `round(median · e^(σ·N(0,1)))`, clamped to [min, max] (ShareGPT-like lengths have this shape:
 *   the engine model's default output sampler is median 120, σ 0.9, mean ≈180 tokens).
 */
export const LengthDistribution = Type.Union([
  Type.Integer({ minimum: 0 }),
  Type.Object({ kind: Type.Literal('uniform'), min: Type.Integer({ minimum: 0 }), max: Type.Integer({ minimum: 0 }) }),
  Type.Object({
    kind: Type.Literal('log-normal'),
    median: Type.Number({ exclusiveMinimum: 0 }),
    sigma: Type.Number({ minimum: 0 }),
    min: Type.Optional(Type.Integer({ minimum: 0 })),
    max: Type.Optional(Type.Integer({ minimum: 0 })),
  }),
]);
export type LengthDistribution = Static<typeof LengthDistribution>;

/** One draw. Uses one or two values of `rng` (none for a constant). */
export function sampleLength(d: LengthDistribution, rng: Rng): number {
  if (typeof d === 'number') return d;
  if (d.kind === 'uniform') return rng.int(d.min, d.max);
  const n = Math.round(d.median * Math.exp(d.sigma * rng.normal()));
  return Math.min(d.max ?? Infinity, Math.max(d.min ?? 0, n));
}

/** Expected value (log-normal: before clamping and rounding, e^(σ²/2) × median), for sizing loads. */
export function meanLength(d: LengthDistribution): number {
  if (typeof d === 'number') return d;
  if (d.kind === 'uniform') return (d.min + d.max) / 2;
  return d.median * Math.exp((d.sigma * d.sigma) / 2);
}

/** Why a distribution is unusable, or null: a uniform or clamp range with min > max. */
export function lengthProblem(d: LengthDistribution): string | null {
  if (typeof d === 'number') return null;
  const min = d.min ?? 0;
  const max = d.max ?? Infinity;
  return min > max ? `min ${min} > max ${max}` : null;
}
