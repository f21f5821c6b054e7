// Public surface of @brix/cluster-sim: a deterministic discrete-event simulation of many engine models behind the
// gateway's real routing code, in virtual time, with the workload interface and a minimal seeded generator.
export { ClusterSim, type ClusterSimDeps, type ClusterSimObservers, type RemoveMode, runClusterSim } from './cluster';
export { ClusterSimConfig, type ClusterSimConfigInput, resolveClusterSimConfig, SimEngineSpec } from './config';
export { ClusterSimConfigError, RoutingPolicyError, WorkloadError } from './errors';
export { type RouterLike, type RoutingPolicy, routerPolicy } from './policy';
export { roundRobinPolicy } from './policies/round-robin/round-robin';
export {
  coefficientOfVariation,
  type EngineReport,
  formatReport,
  quantileSorted,
  type RequestRecord,
  type RequestStatus,
  type SimReport,
  type Summary,
  summarize,
} from './report';
export { SimRoutingRequest } from './routing-request';
export { LoadReporter, SimEngineView } from './views';
export { asWorkload, type SimRequest, type Workload, type WorkloadInput } from './workload/workload';
export { LengthDistribution, lengthProblem, meanLength, sampleLength } from './workload/lengths';
export { fillTokens, PrefixPool, tokenSeed } from './workload/tokens';
export { PoissonWorkloadOptions, type PoissonWorkloadInput, poissonWorkload, poissonWorkloadMeans } from './workload/poisson';
