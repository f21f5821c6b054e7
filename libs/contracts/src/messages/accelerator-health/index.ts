import Type, { type Static } from 'typebox';
import { defineContract } from '../../contract';
import { subjectToken } from '../../subject';
import { EpochMs, Name } from '../common';

export const CheckStatus = Type.Union([Type.Literal('pass'), Type.Literal('warn'), Type.Literal('fail')]);
export type CheckStatus = Static<typeof CheckStatus>;

export const AcceleratorCheck = Type.Object({
  /** Check name, e.g. "ecc-errors", "temperature", "nvlink", "matmul-throughput". */
  name: Type.String({ minLength: 1 }),
  status: CheckStatus,
  /** Measured value in `unit`, when the check measures something. */
  value: Type.Optional(Type.Number()),
  unit: Type.Optional(Type.String()),
  detail: Type.Optional(Type.String()),
});
export type AcceleratorCheck = Static<typeof AcceleratorCheck>;

export const AcceleratorHealthReport = Type.Object({
  v: Type.Literal(1),
  node: Name,
  ts: EpochMs,
  accelerators: Type.Array(
    Type.Object({
      index: Type.Integer({ minimum: 0 }),
      uuid: Type.Optional(Type.String()),
      /** Product name, e.g. "NVIDIA H100 80GB HBM3". */
      product: Type.String(),
      status: CheckStatus,
      checks: Type.Array(AcceleratorCheck),
    }),
  ),
});
export type AcceleratorHealthReport = Static<typeof AcceleratorHealthReport>;

export const AcceleratorHealth = defineContract({
  name: 'accelerator-health',
  version: 1,
  schema: AcceleratorHealthReport,
  pattern: 'brix.accelerator.health.*',
  subject: (p: { node: string }) => `brix.accelerator.health.${subjectToken(p.node)}`,
});
