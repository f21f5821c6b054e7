/**
 * The ScaleTarget port: read and set how many replicas a model's engine group should run. Declared
 * here, narrow, until the autoscaler's lib takes it over. Adapters: {@link KubernetesScaleTarget}
 * (the `/scale` subresource of a Deployment, StatefulSet or ReplicaSet); the local supervisor's later.
 */
import { BadRequestError } from '@brix/contracts';

export interface ScaleTargetRef {
  namespace: string;
  /** Workload kind, as in a scaleTargetRef: `Deployment`, `StatefulSet` or `ReplicaSet`. */
  kind: string;
  name: string;
}

export interface Replicas {
  /** Replicas asked for (the Scale's `spec.replicas`). */
  desired: number;
  /** Replicas that exist now as the workload's controller last counted them (`status.replicas`). */
  current: number;
  /** Label selector of the workload's pods in query-string form; empty when the workload has none. */
  selector: string;
}

export interface ScaleTarget {
  /** NotFoundError when the target does not exist; BadRequestError for a kind that cannot scale. */
  getReplicas(target: ScaleTargetRef): Promise<Replicas>;
  /** Sets the desired count (an integer ≥ 0, else BadRequestError) and returns the state after the write. */
  setReplicas(target: ScaleTargetRef, replicas: number): Promise<Replicas>;
}

/** A scale target's kind that the adapter cannot scale. */
export class UnsupportedScaleKindError extends BadRequestError {
  override name = 'UnsupportedScaleKindError';
  constructor(
    readonly kind: string,
    supported: readonly string[],
  ) {
    super(`cannot scale kind "${kind}"; supported kinds: ${supported.join(', ')}`, { param: 'kind' });
  }
}

export function assertReplicaCount(replicas: number): void {
  if (!Number.isInteger(replicas) || replicas < 0) {
    throw new BadRequestError(`replicas must be an integer >= 0, got ${replicas}`, { param: 'replicas' });
  }
}
