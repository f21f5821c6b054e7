/**
 * The ResourceStore port, narrow for now: a watched, cached collection of one kind of custom resource
 * (ModelAdapter, PodAutoscaler) whose controller reads spec and writes status. Declared here until the
 * controllers' lib takes it over with its local-store adapter. Adapter: {@link KubernetesResourceStore}.
 */

/** The shape every stored resource has; `spec` and `status` are the resource's own. */
export interface CustomResource<Spec = unknown, Status = unknown> {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name?: string;
    namespace?: string;
    uid?: string;
    /** Opaque; echo it back on a status update to get a ConflictError rather than a lost write. */
    resourceVersion?: string;
    /** Bumped by the API server on every spec change; controllers report it as `status.observedGeneration`. */
    generation?: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    finalizers?: string[];
    /** RFC 3339; set once deletion was asked for while finalizers remain. Custom objects arrive as plain JSON. */
    deletionTimestamp?: string;
    creationTimestamp?: string;
    [key: string]: unknown;
  };
  spec?: Spec;
  status?: Status;
}

export interface ResourceRef {
  name: string;
  /** Required for namespaced resources, absent for cluster-scoped ones. */
  namespace?: string;
}

export type ResourceChange<T> =
  | { readonly type: 'added'; readonly object: T }
  | { readonly type: 'updated'; readonly object: T; readonly previous: T }
  | { readonly type: 'removed'; readonly object: T };

export interface ResourceStore<T extends CustomResource> {
  /** Resolves once the first full list is cached; `list()` is empty before. */
  readonly synced: Promise<void>;
  /** Cached objects, of one namespace when given. Synchronous. */
  list(namespace?: string): readonly T[];
  get(ref: ResourceRef): T | undefined;
  /** Calls `listener` for every change after now; returns a function that stops it. */
  watch(listener: (change: ResourceChange<T>) => void): () => void;
  /**
   * Replaces the status of `object` (named by its metadata), on condition that its resourceVersion is
   * still current: ConflictError when it is not, NotFoundError when the object is gone. Returns the stored object.
   */
  updateStatus(object: T): Promise<T>;
  close(): Promise<void>;
}
