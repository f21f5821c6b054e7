import Type, { type Static } from 'typebox';
import { defineContract } from '../../contract';
import { Count, EpochMs, Name, NonNegative } from '../common';

/** What happened to one request that passed through a gateway. */
export const GatewayRequestStat = Type.Object({
  requestId: Type.String(),
  model: Type.String(),
  /** The LoRA adapter addressed, when `model` names one; `model` is then the adapter's base model. */
  adapter: Type.Optional(Type.String()),
  /** Engine that served it; absent when the request never reached one. */
  pod: Type.Optional(Type.String()),
  user: Type.Optional(Type.String()),
  strategy: Type.Optional(Type.String()),
  /** HTTP status returned to the client. */
  status: Type.Integer({ minimum: 100, maximum: 599 }),
  /** Error code from the error catalogue when status ≥ 400. */
  errorCode: Type.Optional(Type.String()),
  stream: Type.Boolean(),
  inputTokens: Count,
  outputTokens: Count,
  cachedTokens: Type.Optional(Count),
  startedAt: EpochMs,
  ttftMs: Type.Optional(NonNegative),
  latencyMs: NonNegative,
  /** Time spent inside the gateway itself (everything but waiting on the engine). */
  overheadMs: Type.Optional(NonNegative),
  retries: Type.Optional(Count),
});
export type GatewayRequestStat = Static<typeof GatewayRequestStat>;

/** Gateways publish request stats in batches, so the bus carries one message per flush, not per request. */
export const GatewayRequestBatch = Type.Object({
  v: Type.Literal(1),
  gateway: Name,
  ts: EpochMs,
  requests: Type.Array(GatewayRequestStat, { minItems: 1 }),
});
export type GatewayRequestBatch = Static<typeof GatewayRequestBatch>;

export const GatewayRequests = defineContract({
  name: 'gateway-requests',
  version: 1,
  schema: GatewayRequestBatch,
  pattern: 'brix.gateway.requests',
  subject: (_: object) => 'brix.gateway.requests',
});
