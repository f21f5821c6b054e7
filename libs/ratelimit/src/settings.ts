import { type ConfigOf, setting } from '@brix/config';
import Type from 'typebox';

/**
 * Settings of users, keys and rate limits. The gateway spreads them into its own settings spec; keys are
 * prefixed so they never collide with the gateway's.
 */
export const rateLimitSettings = {
  authRequired: setting(
    'BRIX_AUTH_REQUIRED',
    Type.Boolean({ default: false }),
    'require an API key (Authorization: Bearer) on inference requests; when false the `user` header names the user, and requests with neither are not limited',
  ),
  rateLimitFailMode: setting(
    'BRIX_RATELIMIT_FAIL_MODE',
    Type.Union([Type.Literal('open'), Type.Literal('closed')], { default: 'open' }),
    'when NATS is unreachable: `open` keeps admitting with limits enforced per replica, `closed` answers 503 once local leases are used up',
  ),
  rateLimitWindowMs: setting(
    'BRIX_RATELIMIT_WINDOW_MS',
    Type.Integer({ minimum: 1000, default: 60_000 }),
    'window of the per-user limits in ms (rpm and tpm are per this window; 60000 = per minute)',
  ),
  rateLimitSlots: setting(
    'BRIX_RATELIMIT_SLOTS',
    Type.Integer({ minimum: 1, maximum: 600, default: 20 }),
    'slots per user window: a charge stays counted between one window and one window plus one slot',
  ),
  rateLimitLeaseFraction: setting(
    'BRIX_RATELIMIT_LEASE_FRACTION',
    Type.Number({ exclusiveMinimum: 0, maximum: 1, default: 0.05 }),
    "share of a limit a replica leases at once beyond the request's own need (at most half of what is left)",
  ),
  rateLimitLeaseIdleMs: setting(
    'BRIX_RATELIMIT_LEASE_IDLE_MS',
    Type.Integer({ minimum: 10, default: 500 }),
    'a lease unused for this long is returned to the shared counter',
  ),
  rateLimitKvTimeoutMs: setting(
    'BRIX_RATELIMIT_KV_TIMEOUT_MS',
    Type.Integer({ minimum: 10, default: 500 }),
    'longest wait for the shared counter before the fail mode applies',
  ),
  modelRps: setting(
    'BRIX_MODEL_RPS',
    Type.Record(Type.String(), Type.Integer({ minimum: 0 }), { default: {} }),
    'requests per second allowed per model or adapter, across all replicas (JSON object; 0 = unlimited)',
  ),
  modelRpsDefault: setting(
    'BRIX_MODEL_RPS_DEFAULT',
    Type.Integer({ minimum: 0, default: 0 }),
    'requests per second for models not named in BRIX_MODEL_RPS (0 = unlimited)',
  ),
  modelRpsSlots: setting(
    'BRIX_MODEL_RPS_SLOTS',
    Type.Integer({ minimum: 1, maximum: 100, default: 10 }),
    'slots per one-second model window',
  ),
  learnTokenRatio: setting(
    'BRIX_RATELIMIT_LEARN_RATIO',
    Type.Boolean({ default: true }),
    "scale prompt estimates by each model's learned ratio of real to estimated prompt tokens",
  ),
};

export type RateLimitConfig = ConfigOf<typeof rateLimitSettings>;
