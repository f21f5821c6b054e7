/**
 * ResourceStore over a CustomResourceDefinition: list + watch through a {@link Reflector} into a cache,
 * status writes through the `/status` subresource with client-node's CustomObjectsApi.
 */
import { type Clock } from '@brix/clock';
import { BadRequestError } from '@brix/contracts';
import { type Logger } from '@brix/observability';
import { CustomObjectsApi, type KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import { fromKubeError } from './errors';
import { Reflector, type RetryOptions } from './reflector';
import { type CustomResource, type ResourceChange, type ResourceRef, type ResourceStore } from './resource-store';

export interface CustomResourceType {
  group: string;
  version: string;
  /** Lowercase plural, as in the CRD's `spec.names.plural`. */
  plural: string;
  namespaced: boolean;
}

export interface KubernetesResourceStoreOptions {
  kubeConfig: KubeConfig;
  resource: CustomResourceType;
  /** For a namespaced resource: the namespace watched; undefined = all namespaces. Ignored for cluster-scoped ones. */
  namespace?: string;
  labelSelector?: string;
  clock?: Clock;
  retry?: RetryOptions;
  logger?: Pick<Logger, 'warn'>;
}

const keyOf = (namespace: string | undefined, name: string | undefined) => `${namespace ?? ''}/${name ?? ''}`;

export class KubernetesResourceStore<T extends CustomResource> implements ResourceStore<T> {
  private readonly api: CustomObjectsApi;
  private readonly cache = new Map<string, T>();
  private readonly listeners = new Set<(change: ResourceChange<T>) => void>();
  private readonly reflector: Reflector<KubernetesObject>;
  private started = false;
  readonly synced: Promise<void>;

  constructor(private readonly options: KubernetesResourceStoreOptions) {
    const { group, version, plural, namespaced } = options.resource;
    const ns = namespaced ? options.namespace : undefined;
    this.api = options.kubeConfig.makeApiClient(CustomObjectsApi);
    const base = `/apis/${group}/${version}`;
    const path = ns === undefined ? `${base}/${plural}` : `${base}/namespaces/${encodeURIComponent(ns)}/${plural}`;
    const labelSelector = options.labelSelector;
    // CustomObjectsApi answers untyped JSON: items are cast to T, the caller's declared shape.
    const list = (): Promise<KubernetesListObject<KubernetesObject>> => {
      if (ns !== undefined) return this.api.listNamespacedCustomObject({ group, version, namespace: ns, plural, labelSelector });
      if (namespaced) return this.api.listCustomObjectForAllNamespaces({ group, version, plural, labelSelector });
      return this.api.listClusterCustomObject({ group, version, plural, labelSelector });
    };
    this.reflector = new Reflector<KubernetesObject>({
      kubeConfig: options.kubeConfig,
      path,
      labelSelector,
      list,
      handlers: {
        listed: (items) => this.listed(items as unknown as T[]),
        upserted: (o) => this.upserted(o as unknown as T),
        deleted: (o) => this.deleted(o as unknown as T),
      },
      clock: options.clock,
      retry: options.retry,
      logger: options.logger,
    });
    this.synced = this.reflector.synced;
  }

  start(): this {
    if (!this.started) {
      this.started = true;
      this.reflector.start();
    }
    return this;
  }

  list(namespace?: string): readonly T[] {
    const all = [...this.cache.values()];
    return namespace === undefined ? all : all.filter((o) => o.metadata.namespace === namespace);
  }

  get(ref: ResourceRef): T | undefined {
    return this.cache.get(keyOf(this.options.resource.namespaced ? ref.namespace : undefined, ref.name));
  }

  watch(listener: (change: ResourceChange<T>) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async updateStatus(object: T): Promise<T> {
    const { group, version, plural, namespaced } = this.options.resource;
    const name = object.metadata.name;
    const namespace = object.metadata.namespace;
    if (!name) throw new BadRequestError('updateStatus needs metadata.name', { param: 'metadata.name' });
    if (namespaced && !namespace) throw new BadRequestError('updateStatus of a namespaced resource needs metadata.namespace');
    const what = `update status of ${plural}.${group} ${namespaced ? `${namespace}/` : ''}${name}`;
    try {
      const stored = namespaced
        ? await this.api.replaceNamespacedCustomObjectStatus({
            group,
            version,
            namespace: namespace as string,
            plural,
            name,
            body: object,
          })
        : await this.api.replaceClusterCustomObjectStatus({ group, version, plural, name, body: object });
      return stored as T;
    } catch (err) {
      throw fromKubeError(err, what);
    }
  }

  async close(): Promise<void> {
    await this.reflector.stop();
    this.listeners.clear();
  }

  // ---- from the reflector ----

  private emit(change: ResourceChange<T>): void {
    for (const l of this.listeners) l(change);
  }

  private listed(items: readonly T[]): void {
    const present = new Set(items.map((o) => keyOf(o.metadata.namespace, o.metadata.name)));
    for (const [key, o] of [...this.cache]) {
      if (!present.has(key)) {
        this.cache.delete(key);
        this.emit({ type: 'removed', object: o });
      }
    }
    for (const o of items) this.upserted(o);
  }

  private upserted(object: T): void {
    const key = keyOf(object.metadata.namespace, object.metadata.name);
    const previous = this.cache.get(key);
    if (previous && previous.metadata.resourceVersion === object.metadata.resourceVersion) return;
    this.cache.set(key, object);
    this.emit(previous ? { type: 'updated', object, previous } : { type: 'added', object });
  }

  private deleted(object: T): void {
    const key = keyOf(object.metadata.namespace, object.metadata.name);
    const previous = this.cache.get(key);
    if (!previous) return;
    this.cache.delete(key);
    this.emit({ type: 'removed', object });
  }
}
