// Public surface of @brix/workloads: seeded, lazy request generators for the cluster simulation and live benchmarks
// (shared-prefix multi-tenant, multi-turn chat, ShareGPT-like no-sharing, Bird-SQL-like) and arrival processes
// (Poisson, on-off bursts, diurnal ramp) that any of them can use.
export { type ArrivalProcess, arrivalProblem, arrivalTimes, peakRate, rateAt, scaleArrivals } from './arrivals';
export { type WorkloadBase } from './common';
export { type SharedPrefixOptions, sharedPrefixDefaults, sharedPrefixMeans, sharedPrefixWorkload } from './shared-prefix';
export {
  type FinishedTurn,
  type MultiTurnOptions,
  type MultiTurnWorkload,
  multiTurnDefaults,
  multiTurnMeanTurns,
  multiTurnWorkload,
} from './multi-turn';
export {
  type ShareGptOptions,
  SHAREGPT_INPUT,
  SHAREGPT_OUTPUT,
  SHAREGPT_PUBLISHED_MEANS,
  shareGptMeans,
  shareGptWorkload,
} from './sharegpt';
export { type BirdSqlOptions, birdSqlDefaults, birdSqlMeans, birdSqlWorkload } from './bird-sql';
export { type BuiltWorkload, WORKLOAD_KINDS, type WorkloadKind, type WorkloadSpec, buildWorkload } from './catalog';
