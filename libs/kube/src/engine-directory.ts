/**
 * The EngineDirectory port over Kubernetes pods: every pod labelled with a model (`brix.io/model`, or
 * AIBrix's `model.aibrix.ai/name`) is an engine. Pods are watched with client-node informers through
 * {@link Reflector}s (list, then watch; a fresh list after any error), one per model label key so that
 * the API server filters; the view is kept in a MemoryEngineDirectory, which dedupes no-op changes.
 */
import { type Clock } from '@brix/clock';
import { type DirectoryChange, type EngineDirectory, type EngineInfo, MemoryEngineDirectory } from '@brix/discovery';
import { type Logger } from '@brix/observability';
import { CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { AibrixLabels, BrixLabels, podToEngine } from './pod-engine';
import { Reflector, type RetryOptions } from './reflector';

export interface KubernetesEngineDirectoryOptions {
  kubeConfig: KubeConfig;
  /**
   * Namespace whose pods are watched. Undefined = all namespaces; engine ids are then
   * `<namespace>/<pod>` so that equal pod names in two namespaces stay apart.
   */
  namespace?: string;
  /** Also discover pods labelled `model.aibrix.ai/name` (default true). */
  aibrixCompat?: boolean;
  clock?: Clock;
  retry?: RetryOptions;
  logger?: Pick<Logger, 'warn'>;
}

const podKey = (pod: V1Pod) => `${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`;

interface Tracked {
  /** The latest state seen of the pod, from whichever watch saw it last. */
  pod: V1Pod;
  /** Indexes of the reflectors (label keys) whose selector the pod currently matches. */
  sources: Set<number>;
}

export class KubernetesEngineDirectory implements EngineDirectory {
  private readonly view = new MemoryEngineDirectory([], { synced: false });
  private readonly pods = new Map<string, Tracked>();
  private readonly reflectors: Reflector<V1Pod>[];
  /** Warned-about misconfigurations, so that a bad pod is reported once per distinct problem. */
  private readonly warned = new Map<string, string>();
  private started = false;
  readonly synced: Promise<void>;

  constructor(private readonly options: KubernetesEngineDirectoryOptions) {
    const api = options.kubeConfig.makeApiClient(CoreV1Api);
    const ns = options.namespace;
    const path = ns === undefined ? '/api/v1/pods' : `/api/v1/namespaces/${encodeURIComponent(ns)}/pods`;
    const keys = options.aibrixCompat === false ? [BrixLabels.model] : [BrixLabels.model, AibrixLabels.model];
    this.reflectors = keys.map(
      (labelSelector, source) =>
        new Reflector<V1Pod>({
          kubeConfig: options.kubeConfig,
          path,
          labelSelector,
          list: () =>
            ns === undefined
              ? api.listPodForAllNamespaces({ labelSelector })
              : api.listNamespacedPod({ namespace: ns, labelSelector }),
          handlers: {
            listed: (items) => this.listed(source, items),
            upserted: (pod) => this.upserted(source, pod),
            deleted: (pod) => this.deleted(source, pod),
          },
          clock: options.clock,
          retry: options.retry,
          logger: options.logger,
        }),
    );
    this.synced = this.view.synced;
    void Promise.all(this.reflectors.map((r) => r.synced)).then(() => this.view.setSynced());
  }

  /** Starts listing and watching; `synced` resolves once every label key has been listed. */
  start(): this {
    if (!this.started) {
      this.started = true;
      for (const r of this.reflectors) r.start();
    }
    return this;
  }

  /** Successful pod lists so far, over all label keys (relists included). */
  get listCount(): number {
    return this.reflectors.reduce((n, r) => n + r.listCount, 0);
  }

  list(model?: string): readonly EngineInfo[] {
    return this.view.list(model);
  }

  get(id: string): EngineInfo | undefined {
    return this.view.get(id);
  }

  models(): readonly string[] {
    return this.view.models();
  }

  watch(listener: (change: DirectoryChange) => void): () => void {
    return this.view.watch(listener);
  }

  async close(): Promise<void> {
    await Promise.all(this.reflectors.map((r) => r.stop()));
    await this.view.close();
  }

  // ---- from the reflectors ----

  private listed(source: number, items: readonly V1Pod[]): void {
    const present = new Set(items.map(podKey));
    for (const [key, t] of [...this.pods]) {
      if (t.sources.has(source) && !present.has(key)) this.deleted(source, t.pod);
    }
    for (const pod of items) this.upserted(source, pod);
  }

  private upserted(source: number, pod: V1Pod): void {
    const key = podKey(pod);
    const t = this.pods.get(key);
    if (t) {
      t.pod = pod;
      t.sources.add(source);
    } else this.pods.set(key, { pod, sources: new Set([source]) });
    this.refresh(key);
  }

  private deleted(source: number, pod: V1Pod): void {
    const key = podKey(pod);
    const t = this.pods.get(key);
    if (!t) return;
    t.sources.delete(source);
    // A DELETED event for a pod that only stopped matching one selector carries its current state.
    t.pod = pod;
    if (t.sources.size === 0) this.pods.delete(key);
    this.refresh(key);
  }

  /** Re-derives the engine of one pod (key `<namespace>/<name>`) and tells the view. */
  private refresh(key: string): void {
    const t = this.pods.get(key);
    const qualifyIds = this.options.namespace === undefined;
    const result = t ? podToEngine(t.pod, { aibrixCompat: this.options.aibrixCompat, qualifyIds }) : undefined;
    if (result?.kind === 'engine') {
      this.warned.delete(key);
      this.view.upsert(result.engine);
      return;
    }
    if (result?.kind === 'invalid' && this.warned.get(key) !== result.reason) {
      this.warned.set(key, result.reason);
      this.options.logger?.warn({ pod: key }, `ignoring engine pod: ${result.reason}`);
    }
    if (!t) this.warned.delete(key);
    // Namespace names hold no '/', so the pod name is everything after the first one.
    this.view.remove(qualifyIds ? key : key.slice(key.indexOf('/') + 1));
  }
}
