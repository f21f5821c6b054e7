/**
 * What the fake API server serves: one definition per resource, core or grouped, built-in or custom.
 * A custom resource is served once it is defined, as a CustomResourceDefinition makes it served.
 */
export interface FakeResourceDefinition {
  /** API group; `''` for the core group (`/api/v1`). */
  readonly group: string;
  readonly version: string;
  /** Lowercase plural used in paths (`pods`, `deployments`, `modeladapters`). */
  readonly plural: string;
  readonly kind: string;
  readonly namespaced: boolean;
  /** Serves `/status`: writes to the main resource keep the stored status, writes to `/status` only change status. */
  readonly status?: boolean;
  /**
   * Serves `/scale` (autoscaling/v1 Scale) over `spec.replicas`, `status.replicas` and `spec.selector`.
   * `spec.replicas` defaults to 1 on create, as the built-in workload controllers' defaulting does.
   */
  readonly scale?: boolean;
  /** Status given to a newly created object (the API server starts pods in phase Pending). */
  readonly initialStatus?: Readonly<Record<string, unknown>>;
}

export const apiVersionOf = (def: Pick<FakeResourceDefinition, 'group' | 'version'>): string =>
  def.group === '' ? def.version : `${def.group}/${def.version}`;

/** `pods` for core resources, `deployments.apps` for grouped ones: how the API server names a resource in messages. */
export const qualifiedName = (def: FakeResourceDefinition): string =>
  def.group === '' ? def.plural : `${def.plural}.${def.group}`;

/** The built-in resources the adapters in this lib use, plus nodes as a cluster-scoped example. */
export const builtinResources: readonly FakeResourceDefinition[] = [
  { group: '', version: 'v1', plural: 'pods', kind: 'Pod', namespaced: true, status: true, initialStatus: { phase: 'Pending' } },
  { group: '', version: 'v1', plural: 'nodes', kind: 'Node', namespaced: false, status: true },
  { group: 'apps', version: 'v1', plural: 'deployments', kind: 'Deployment', namespaced: true, status: true, scale: true },
  { group: 'apps', version: 'v1', plural: 'statefulsets', kind: 'StatefulSet', namespaced: true, status: true, scale: true },
  { group: 'apps', version: 'v1', plural: 'replicasets', kind: 'ReplicaSet', namespaced: true, status: true, scale: true },
];
