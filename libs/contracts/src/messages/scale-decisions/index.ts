import Type, { type Static } from 'typebox';
import { defineContract } from '../../contract';
import { Count, EpochMs, Name } from '../common';

/** An autoscaler changed (or decided to keep) the replica count of a scale target. */
export const ScaleDecision = Type.Object({
  v: Type.Literal(1),
  /** The PodAutoscaler (or equivalent) that decided. */
  autoscaler: Name,
  target: Type.Object({
    kind: Type.String({ minLength: 1 }),
    name: Name,
    namespace: Type.Optional(Type.String()),
  }),
  model: Type.Optional(Type.String()),
  /** Scaling algorithm: "hpa", "kpa", "apa", "optimizer". */
  algorithm: Type.String({ minLength: 1 }),
  from: Count,
  to: Count,
  /** Why, in words an operator can act on. */
  reason: Type.String(),
  /** The metric values the decision used, keyed by metric name. */
  metrics: Type.Optional(Type.Record(Type.String(), Type.Number())),
  ts: EpochMs,
});
export type ScaleDecision = Static<typeof ScaleDecision>;

export const ScaleDecisions = defineContract({
  name: 'scale-decisions',
  version: 1,
  schema: ScaleDecision,
  pattern: 'brix.scale.decisions',
  subject: (_: object) => 'brix.scale.decisions',
});
