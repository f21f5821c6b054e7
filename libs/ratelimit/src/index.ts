// Public surface of @brix/ratelimit: users, API keys and token/request rate limits shared by every gateway
// replica through JetStream KV (or the in-memory bus when embedded).
export { createRateLimiter, COUNTERS_BUCKET, type RateLimiter, type RateLimiterDeps } from './rate-limiter';
export { rateLimitSettings, type RateLimitConfig } from './settings';
export { QuotaAdmission, type QuotaAdmissionOptions, type AdmissionDecision } from './admission/quota-admission';
export {
  LeasedCounter,
  LimitExceededError,
  CounterUnavailableError,
  type CounterEvent,
  type CounterStatus,
  type FailMode,
  type LeasedCounterOptions,
  type Reservation,
} from './counter/leased-counter';
export { UserDirectory, USERS_BUCKET, API_KEY_PREFIX, hashApiKey, kvName, type IssuedKey } from './users/user-directory';
export { registerUserRoutes } from './admin/routes';
export { TokenRatio, type TokenRatioOptions } from './estimate/token-ratio';
export { formatResetDuration } from './headers/duration';
export * from './window/window';
export * from './schemas';
