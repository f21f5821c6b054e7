import { ConflictError, NotFoundError } from '@brix/contracts';
import { waitFor } from '@brix/testing';
import { kubeConfigForUrl } from './kube-config';
import { type CustomResourceType, KubernetesResourceStore } from './kubernetes-resource-store';
import { type CustomResource, type ResourceChange } from './resource-store';
import { FakeKubeApiServer } from './testing';

type ModelAdapter = CustomResource<{ baseModel: string; replicas?: number }, { phase: string; observedGeneration?: number }>;

const adapters: CustomResourceType = { group: 'brix.io', version: 'v1alpha1', plural: 'modeladapters', namespaced: true };
const profiles: CustomResourceType = { group: 'brix.io', version: 'v1alpha1', plural: 'gpuprofiles', namespaced: false };
const API_VERSION = 'brix.io/v1alpha1';
const retry = { initialDelayMs: 20, maxDelayMs: 200 };

const adapter = (name: string, namespace = 'default', spec = { baseModel: 'llama' }) => ({
  apiVersion: API_VERSION,
  kind: 'ModelAdapter',
  metadata: { name, namespace },
  spec,
});

describe('KubernetesResourceStore', () => {
  let fake: FakeKubeApiServer;
  let store: KubernetesResourceStore<ModelAdapter> | undefined;
  const open = async (options: { namespace?: string; labelSelector?: string } = {}) => {
    store = new KubernetesResourceStore<ModelAdapter>({
      kubeConfig: kubeConfigForUrl(fake.url),
      resource: adapters,
      retry,
      ...options,
    }).start();
    await store.synced;
    return store;
  };

  beforeEach(async () => {
    fake = await FakeKubeApiServer.start();
    fake.defineResource({ ...adapters, kind: 'ModelAdapter', status: true });
    fake.defineResource({ ...profiles, kind: 'GpuProfile', status: true });
  });
  afterEach(async () => {
    await store?.close();
    store = undefined;
    await fake.close();
  });

  it('lists what exists once synced, and gets by name and namespace', async () => {
    fake.put(adapter('sql-lora'));
    fake.put(adapter('chat-lora', 'team-b'));
    const s = await open();
    expect(s.list().map((o) => o.metadata.name)).toEqual(['sql-lora', 'chat-lora']);
    expect(s.list('team-b').map((o) => o.metadata.name)).toEqual(['chat-lora']);
    expect(s.get({ name: 'sql-lora', namespace: 'default' })?.spec).toEqual({ baseModel: 'llama' });
    expect(s.get({ name: 'sql-lora', namespace: 'team-b' })).toBeUndefined();
  });

  it('tells watchers about additions, spec changes and removals', async () => {
    const s = await open();
    const changes: ResourceChange<ModelAdapter>[] = [];
    s.watch((c) => changes.push(c));
    fake.put(adapter('sql-lora'));
    fake.put(adapter('sql-lora', 'default', { baseModel: 'qwen' }));
    fake.remove({ apiVersion: API_VERSION, kind: 'ModelAdapter', name: 'sql-lora' });
    await waitFor(() => changes.length === 3, 'three changes');
    expect(changes.map((c) => c.type)).toEqual(['added', 'updated', 'removed']);
    const updated = changes[1];
    expect(updated.type === 'updated' && [updated.previous.spec?.baseModel, updated.object.spec?.baseModel]).toEqual([
      'llama',
      'qwen',
    ]);
    // The API server bumped generation for the spec change: 1 → 2.
    expect(updated.object.metadata.generation).toBe(2);
  });

  it('updates status through /status, and refuses a stale resourceVersion with ConflictError', async () => {
    fake.put(adapter('sql-lora'));
    const s = await open();
    const current = s.get({ name: 'sql-lora', namespace: 'default' })!;
    const stored = await s.updateStatus({ ...current, status: { phase: 'Running', observedGeneration: 1 } });
    expect(stored.status).toEqual({ phase: 'Running', observedGeneration: 1 });
    // A status write does not touch the spec, whatever the body says.
    await s.updateStatus({ ...stored, spec: { baseModel: 'other' }, status: { phase: 'Scaling' } });
    expect(fake.get<ModelAdapter>({ apiVersion: API_VERSION, kind: 'ModelAdapter', name: 'sql-lora' })?.spec?.baseModel).toBe(
      'llama',
    );
    // `current` still holds the resourceVersion from before both writes.
    await expect(s.updateStatus({ ...current, status: { phase: 'Failed' } })).rejects.toThrow(ConflictError);
    await waitFor(() => s.get({ name: 'sql-lora', namespace: 'default' })?.status?.phase === 'Scaling', 'the cache to catch up');
  });

  it('answers NotFoundError for a status update of an object that is gone', async () => {
    const s = await open();
    await expect(s.updateStatus(adapter('ghost') as ModelAdapter)).rejects.toThrow(NotFoundError);
  });

  it('watches one namespace when given one, and honours a label selector', async () => {
    fake.put({ ...adapter('a'), metadata: { name: 'a', namespace: 'team-a', labels: { tier: 'gold' } } });
    fake.put({ ...adapter('b'), metadata: { name: 'b', namespace: 'team-a' } });
    fake.put({ ...adapter('c'), metadata: { name: 'c', namespace: 'team-b', labels: { tier: 'gold' } } });
    const s = await open({ namespace: 'team-a', labelSelector: 'tier=gold' });
    expect(s.list().map((o) => o.metadata.name)).toEqual(['a']);
  });

  it('serves cluster-scoped resources', async () => {
    fake.put({ apiVersion: API_VERSION, kind: 'GpuProfile', metadata: { name: 'h100' }, spec: { costPerHour: 4 } });
    const s = new KubernetesResourceStore<CustomResource<{ costPerHour: number }, { seen: boolean }>>({
      kubeConfig: kubeConfigForUrl(fake.url),
      resource: profiles,
      retry,
    }).start();
    try {
      await s.synced;
      const h100 = s.get({ name: 'h100' })!;
      expect(h100.spec).toEqual({ costPerHour: 4 });
      expect((await s.updateStatus({ ...h100, status: { seen: true } })).status).toEqual({ seen: true });
    } finally {
      await s.close();
    }
  });

  it('rebuilds its cache from a list after the API server was unreachable, removing what went meanwhile', async () => {
    fake.put(adapter('a'));
    fake.put(adapter('b'));
    const s = await open();
    const removed: string[] = [];
    s.watch((c) => c.type === 'removed' && removed.push(c.object.metadata.name ?? ''));
    fake.setUnavailable(true);
    fake.remove({ apiVersion: API_VERSION, kind: 'ModelAdapter', name: 'b' });
    await waitFor(() => fake.requests.some((r) => r.status === 503), 'a refused request');
    fake.setUnavailable(false);
    await waitFor(() => removed.length === 1, 'b to be removed');
    expect(removed).toEqual(['b']);
    expect(s.list().map((o) => o.metadata.name)).toEqual(['a']);
  });
});
