/** An invalid cluster-simulation configuration: a start-up error of the tool, never a per-request outcome. */
export class ClusterSimConfigError extends Error {
  override readonly name = 'ClusterSimConfigError';
  readonly code = 'BRIX_CLUSTER_SIM_CONFIG_INVALID';
  constructor(message: string) {
    super(`invalid cluster simulation config: ${message}`);
  }
}

/**
 * A workload broke its contract (arrivals out of order, an arrival in the past, a non-finite time). The
 * workload is code, so this is a bug in it: the run stops rather than silently reordering requests.
 */
export class WorkloadError extends Error {
  override readonly name = 'WorkloadError';
  readonly code = 'BRIX_WORKLOAD_INVALID';
}

/**
 * A routing policy answered with an engine that was not among the candidates it was given. A policy bug is
 * loud, never a silent misroute (the same rule the routing framework applies to its plugins).
 */
export class RoutingPolicyError extends Error {
  override readonly name = 'RoutingPolicyError';
  readonly code = 'BRIX_ROUTING_POLICY_INVALID';
  constructor(
    readonly policy: string,
    message: string,
  ) {
    super(`routing policy \`${policy}\`: ${message}`);
  }
}
