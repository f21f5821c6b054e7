import { type DirectoryChange, type EngineInfo } from '@brix/discovery';
import { describeEngineDirectoryContract } from '@brix/discovery/testing';
import { waitFor } from '@brix/testing';
import { KubernetesEngineDirectory, type KubernetesEngineDirectoryOptions } from './engine-directory';
import { kubeConfigForUrl } from './kube-config';
import { enginePod, enginePodFor, FakeKubeApiServer } from './testing';

const POD = { apiVersion: 'v1', kind: 'Pod' } as const;
// Short retry delays: the tests cut the API off on purpose and should not wait 250 ms+ per attempt.
const retry = { initialDelayMs: 20, maxDelayMs: 200 };

describeEngineDirectoryContract('kubernetes (fake API server)', async () => {
  const fake = await FakeKubeApiServer.start();
  const directory = new KubernetesEngineDirectory({
    kubeConfig: kubeConfigForUrl(fake.url),
    namespace: 'default',
    retry,
  }).start();
  return {
    directory,
    put: async (engine) => void fake.put(enginePodFor(engine)),
    remove: async (id) => void fake.remove({ ...POD, name: id }),
    teardown: async () => {
      await directory.close();
      await fake.close();
    },
  };
});

describe('KubernetesEngineDirectory', () => {
  let fake: FakeKubeApiServer;
  let directory: KubernetesEngineDirectory | undefined;
  const open = async (options: Partial<KubernetesEngineDirectoryOptions> = {}) => {
    directory = new KubernetesEngineDirectory({
      kubeConfig: kubeConfigForUrl(fake.url),
      namespace: 'default',
      retry,
      ...options,
    }).start();
    await directory.synced;
    return directory;
  };

  beforeEach(async () => {
    fake = await FakeKubeApiServer.start();
  });
  afterEach(async () => {
    await directory?.close();
    directory = undefined;
    await fake.close();
  });

  it('maps a pod to an engine: URL from pod IP and port, node, GPU type, sidecar, labels', async () => {
    fake.put(
      enginePod({
        name: 'vllm-0',
        model: 'llama',
        ip: '10.1.2.3',
        port: 8080,
        sidecarPort: 8081,
        gpuType: 'H100',
        node: 'gpu-node-1',
      }),
    );
    const d = await open();
    expect(d.get('vllm-0')).toEqual({
      id: 'vllm-0',
      model: 'llama',
      url: 'http://10.1.2.3:8080',
      sidecarUrl: 'http://10.1.2.3:8081',
      ready: true,
      gpuType: 'H100',
      node: 'gpu-node-1',
      labels: { 'brix.io/model': 'llama', 'brix.io/gpu-type': 'H100' },
    });
  });

  it('lists what existed before start once synced, and nothing before', async () => {
    fake.put(enginePod({ name: 'a', model: 'llama', ip: '10.0.0.1' }));
    fake.put(enginePod({ name: 'b', model: 'qwen', ip: '10.0.0.2' }));
    const d = new KubernetesEngineDirectory({ kubeConfig: kubeConfigForUrl(fake.url), namespace: 'default', retry });
    directory = d;
    expect(d.list()).toEqual([]);
    d.start();
    await d.synced;
    expect(d.list().map((e) => e.id)).toEqual(['a', 'b']);
  });

  it('ignores pods without a model label, and pods with no IP or a finished phase', async () => {
    fake.put({ ...enginePod({ name: 'web', model: 'x', ip: '10.0.0.9' }), metadata: { name: 'web', labels: { app: 'web' } } });
    fake.put(enginePod({ name: 'pending', model: 'llama', phase: 'Pending', ready: false }));
    fake.put(enginePod({ name: 'done', model: 'llama', ip: '10.0.0.3', phase: 'Succeeded', ready: false }));
    fake.put(enginePod({ name: 'ok', model: 'llama', ip: '10.0.0.4' }));
    const d = await open();
    expect(d.list().map((e) => e.id)).toEqual(['ok']);
    // The unlabelled pod is filtered by the API server: the directory asked for labelled pods only.
    expect(fake.requests.filter((r) => r.verb === 'list').map((r) => r.labelSelector)).toEqual([
      'brix.io/model',
      'model.aibrix.ai/name',
    ]);
  });

  it('watches one namespace only when given one', async () => {
    fake.put(enginePod({ name: 'mine', namespace: 'serving', model: 'llama', ip: '10.0.0.1' }));
    fake.put(enginePod({ name: 'theirs', namespace: 'other', model: 'llama', ip: '10.0.0.2' }));
    const d = await open({ namespace: 'serving' });
    fake.put(enginePod({ name: 'theirs-2', namespace: 'other', model: 'llama', ip: '10.0.0.3' }));
    fake.put(enginePod({ name: 'mine-2', namespace: 'serving', model: 'llama', ip: '10.0.0.4' }));
    await waitFor(() => d.get('mine-2'), 'mine-2');
    expect(
      d
        .list()
        .map((e) => e.id)
        .sort(),
    ).toEqual(['mine', 'mine-2']);
  });

  it('watches all namespaces when none is given, with ids qualified by namespace', async () => {
    fake.put(enginePod({ name: 'vllm-0', namespace: 'team-a', model: 'llama', ip: '10.0.0.1' }));
    fake.put(enginePod({ name: 'vllm-0', namespace: 'team-b', model: 'llama', ip: '10.0.0.2' }));
    const d = await open({ namespace: undefined });
    expect(
      d
        .list('llama')
        .map((e) => e.id)
        .sort(),
    ).toEqual(['team-a/vllm-0', 'team-b/vllm-0']);
    fake.remove({ ...POD, name: 'vllm-0', namespace: 'team-a' });
    await waitFor(() => d.get('team-a/vllm-0') === undefined, 'team-a/vllm-0 to go');
    expect(d.get('team-b/vllm-0')?.url).toBe('http://10.0.0.2:8000');
  });

  it('discovers pods labelled the AIBrix way, port from model.aibrix.ai/port', async () => {
    fake.put(enginePod({ name: 'aibrix-0', model: 'deepseek-7b', labelling: 'aibrix', ip: '10.0.0.5', port: 8080 }));
    const d = await open();
    expect(d.get('aibrix-0')).toMatchObject({ model: 'deepseek-7b', url: 'http://10.0.0.5:8080', ready: true });
  });

  it('does not discover AIBrix-labelled pods when compatibility is off', async () => {
    fake.put(enginePod({ name: 'aibrix-0', model: 'deepseek-7b', labelling: 'aibrix', ip: '10.0.0.5' }));
    fake.put(enginePod({ name: 'brix-0', model: 'llama', ip: '10.0.0.6' }));
    const d = await open({ aibrixCompat: false });
    expect(d.list().map((e) => e.id)).toEqual(['brix-0']);
  });

  it('keeps a pod labelled both ways once, and removes it only when neither label remains', async () => {
    const both = enginePod({ name: 'dual', model: 'llama', ip: '10.0.0.7', labels: { 'model.aibrix.ai/name': 'llama' } });
    fake.put(both);
    const d = await open();
    const changes: DirectoryChange[] = [];
    d.watch((c) => changes.push(c));
    expect(d.list()).toHaveLength(1);
    fake.modify({ ...POD, name: 'dual' }, (p) => delete p.metadata!.labels!['brix.io/model']);
    await waitFor(() => d.get('dual')?.labels['brix.io/model'] === undefined, 'the label change to arrive');
    expect(d.get('dual')?.model).toBe('llama');
    fake.modify({ ...POD, name: 'dual' }, (p) => delete p.metadata!.labels!['model.aibrix.ai/name']);
    await waitFor(() => d.get('dual') === undefined, 'dual to go');
    expect(changes.map((c) => c.type)).toEqual(['updated', 'removed']);
  });

  it('takes the served model name from the annotation when the label cannot hold it', async () => {
    fake.put(
      enginePod({ name: 'm', model: 'llama-3.1-8b', servedModelName: 'meta-llama/Llama-3.1-8B-Instruct', ip: '10.0.0.8' }),
    );
    const d = await open();
    expect(d.list('meta-llama/Llama-3.1-8B-Instruct').map((e) => e.id)).toEqual(['m']);
  });

  it('marks a pod being deleted (finalizers pending) as not ready, then removes it when it goes', async () => {
    fake.put(enginePod({ name: 'draining', model: 'llama', ip: '10.0.0.1', finalizers: ['brix.io/drain'] }));
    const d = await open();
    expect(d.get('draining')?.ready).toBe(true);
    const res = await fetch(`${fake.url}/api/v1/namespaces/default/pods/draining`, { method: 'DELETE' });
    expect(res.status).toBe(200);
    await waitFor(() => d.get('draining')?.ready === false, 'draining to be not ready');
    fake.modify({ ...POD, name: 'draining' }, (p) => (p.metadata!.finalizers = []));
    await waitFor(() => d.get('draining') === undefined, 'draining to go');
  });

  it('follows readiness from the Ready condition and the phase', async () => {
    fake.put(enginePod({ name: 'p', model: 'llama', ip: '10.0.0.1', ready: false }));
    const d = await open();
    expect(d.get('p')?.ready).toBe(false);
    fake.put(enginePod({ name: 'p', model: 'llama', ip: '10.0.0.1', ready: true }));
    await waitFor(() => d.get('p')?.ready === true, 'p ready');
    fake.put(enginePod({ name: 'p', model: 'llama', ip: '10.0.0.1', ready: true, phase: 'Unknown' }));
    await waitFor(() => d.get('p')?.ready === false, 'p not ready in phase Unknown');
  });

  it('resumes from its resourceVersion after the watch connection drops, missing nothing and without a relist', async () => {
    fake.put(enginePod({ name: 'a', model: 'llama', ip: '10.0.0.1' }));
    const d = await open();
    // Synced means listed; the watches open just after. One watch per model label key.
    await waitFor(() => fake.watchCount === 2, 'both watches to open');
    const listsBefore = d.listCount;
    expect(fake.closeWatches()).toBe(2);
    // Made while no watch is open: only a resume from the last resourceVersion (history replay) can bring it.
    fake.put(enginePod({ name: 'b', model: 'llama', ip: '10.0.0.2' }));
    await waitFor(() => d.get('b'), 'b after the re-watch');
    expect(d.listCount).toBe(listsBefore);
    expect(
      fake.requests.filter((r) => r.verb === 'watch' && r.resourceVersion !== undefined && r.resourceVersion !== '').length,
    ).toBeGreaterThanOrEqual(4);
  });

  it('lists again when its resourceVersion has expired (410) and drops pods deleted meanwhile', async () => {
    const warnings: string[] = [];
    const logger = {
      warn: (_obj: object, msg: string) => void warnings.push(msg),
    } as unknown as KubernetesEngineDirectoryOptions['logger'];
    fake.put(enginePod({ name: 'a', model: 'llama', ip: '10.0.0.1' }));
    fake.put(enginePod({ name: 'b', model: 'llama', ip: '10.0.0.2' }));
    const d = await open({ logger });
    await waitFor(() => fake.watchCount === 2, 'both watches to open');
    const listsBefore = d.listCount;
    // All in one tick, before the clients re-watch: they miss the deletion, and their resume point expires.
    fake.closeWatches();
    fake.remove({ ...POD, name: 'b' });
    fake.put(enginePod({ name: 'c', model: 'qwen', ip: '10.0.0.3' }));
    fake.compact();
    // One relist per model label key: both resume points expired.
    await waitFor(() => d.listCount === listsBefore + 2, 'both reflectors to list again');
    expect(d.get('b')).toBeUndefined();
    expect(d.list().map((e) => e.id)).toEqual(['a', 'c']);
    // The informer handled the 410 itself: no failure reached the retry path.
    expect(warnings).toEqual([]);
  });

  it('lists again after the API server was unreachable, even when history was kept', async () => {
    fake.put(enginePod({ name: 'a', model: 'llama', ip: '10.0.0.1' }));
    const d = await open();
    const listsBefore = d.listCount;
    fake.setUnavailable(true);
    fake.remove({ ...POD, name: 'a' });
    await waitFor(() => fake.requests.some((r) => r.status === 503), 'a refused request');
    fake.setUnavailable(false);
    await waitFor(() => d.get('a') === undefined, 'a to go');
    expect(d.listCount).toBeGreaterThan(listsBefore);
  });

  it('is not synced while the API server refuses, and syncs once it answers', async () => {
    fake.setUnavailable(true);
    fake.put(enginePod({ name: 'a', model: 'llama', ip: '10.0.0.1' }));
    const d = new KubernetesEngineDirectory({ kubeConfig: kubeConfigForUrl(fake.url), namespace: 'default', retry }).start();
    directory = d;
    let synced = false;
    void d.synced.then(() => (synced = true));
    await waitFor(() => fake.count('list') >= 2, 'a few refused lists');
    expect(synced).toBe(false);
    fake.setUnavailable(false);
    await d.synced;
    expect(d.list().map((e) => e.id)).toEqual(['a']);
  });

  it('warns once about a labelled pod with an invalid port and leaves it out', async () => {
    const warnings: string[] = [];
    const logger = {
      warn: (_obj: object, msg: string) => void warnings.push(msg),
    } as unknown as KubernetesEngineDirectoryOptions['logger'];
    fake.put(enginePod({ name: 'bad', model: 'llama', ip: '10.0.0.1', annotations: { 'brix.io/engine-port': 'http' } }));
    const d = await open({ logger });
    expect(d.list()).toEqual([]);
    expect(warnings).toEqual(['ignoring engine pod: pod bad has an invalid engine port "http"']);
  });

  it('stops watching on close', async () => {
    await open();
    await waitFor(() => fake.watchCount === 2, 'two watches');
    await directory!.close();
    await waitFor(() => fake.watchCount === 0, 'watches to close');
    directory = undefined;
  });

  it('hands EngineInfo objects that the memory adapter would hold', async () => {
    const engine: EngineInfo = {
      id: 'e9',
      model: 'llama',
      url: 'http://127.0.0.1:8009',
      ready: true,
      labels: { tier: 'gold' },
      node: 'n1',
    };
    fake.put(enginePodFor(engine));
    const d = await open();
    expect(d.get('e9')).toEqual({ ...engine, labels: { tier: 'gold', 'brix.io/model': 'llama' } });
  });
});
