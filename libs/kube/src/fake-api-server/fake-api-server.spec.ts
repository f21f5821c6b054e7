import { waitFor } from '@brix/testing';
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type V1Pod,
  Watch,
} from '@kubernetes/client-node';
import { kubeConfigForUrl } from '../kube-config';
import { enginePod, workload } from './builders';
import { FakeKubeApiServer } from './fake-api-server';

/** Collects a watch stream's events over real HTTP until told to stop. */
function openWatch(url: string) {
  const events: {
    type: string;
    object: { metadata?: { name?: string; resourceVersion?: string }; code?: number; reason?: string };
  }[] = [];
  const controller = new AbortController();
  let ended = false;
  const done = (async () => {
    const res = await fetch(url, { signal: controller.signal });
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let nl: number;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          events.push(JSON.parse(buffer.slice(0, nl)));
          buffer = buffer.slice(nl + 1);
        }
      }
    } catch {
      // aborted by stop()
    }
    ended = true;
  })();
  return {
    events,
    names: () => events.map((e) => `${e.type}:${e.object.metadata?.name ?? e.object.reason}`),
    get ended() {
      return ended;
    },
    stop: async () => {
      controller.abort();
      await done;
    },
  };
}

// The answers are read loosely: each test checks the fields it cares about.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;
const read = async (res: Response): Promise<Json> => res.json();

const json = (body: unknown) => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('FakeKubeApiServer over HTTP', () => {
  let fake: FakeKubeApiServer;
  const pods = () => `${fake.url}/api/v1/namespaces/default/pods`;
  beforeEach(async () => {
    fake = await FakeKubeApiServer.start();
  });
  afterEach(async () => {
    await fake.close();
  });

  it('creates, gets, lists with a collection resourceVersion, and deletes', async () => {
    const created = await fetch(
      pods(),
      json({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p1', labels: { app: 'a' } }, spec: {} }),
    );
    expect(created.status).toBe(201);
    const body = await read(created);
    expect(body.metadata).toMatchObject({ name: 'p1', namespace: 'default', generation: 1 });
    expect(body.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    // The API server starts pods Pending, whatever status the client sent.
    expect(body.status).toEqual({ phase: 'Pending' });

    const got = await read(await fetch(`${pods()}/p1`));
    expect(got.metadata.resourceVersion).toBe(body.metadata.resourceVersion);

    const list = await read(await fetch(pods()));
    expect(list).toMatchObject({ kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: fake.resourceVersion } });
    expect(list.items.map((p: V1Pod) => p.metadata?.name)).toEqual(['p1']);

    expect((await fetch(`${pods()}/p1`, { method: 'DELETE' })).status).toBe(200);
    expect((await fetch(`${pods()}/p1`)).status).toBe(404);
  });

  it('answers errors with Status bodies like the API server', async () => {
    fake.put(enginePod({ name: 'p1', model: 'm' }));
    const cases: [string, RequestInit | undefined, number, string, string][] = [
      [`${pods()}/nope`, undefined, 404, 'NotFound', 'pods "nope" not found'],
      [pods(), json({ metadata: { name: 'p1' } }), 409, 'AlreadyExists', 'pods "p1" already exists'],
      [
        pods(),
        json({ metadata: { name: 'Bad_Name' } }),
        422,
        'Invalid',
        'Pod "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name"',
      ],
      [
        pods(),
        json({ metadata: { name: 'x', labels: { model: 'org/model' } } }),
        422,
        'Invalid',
        'Pod "x" is invalid: metadata.labels',
      ],
      [pods(), json({ metadata: {} }), 422, 'Invalid', 'name or generateName is required'],
      [pods(), json({ metadata: { name: 'x', namespace: 'other' } }), 400, 'BadRequest', 'does not match the namespace'],
      [
        pods(),
        json({ apiVersion: 'apps/v1', metadata: { name: 'x' } }),
        400,
        'BadRequest',
        'does not match the expected API version',
      ],
      [pods(), { method: 'POST', body: '{not json' }, 400, 'BadRequest', 'not valid JSON'],
      [`${pods()}?labelSelector=${encodeURIComponent('a in (')}`, undefined, 400, 'BadRequest', 'label selector'],
      [`${fake.url}/api/v1/namespaces/%E0%A4%A/pods`, undefined, 400, 'BadRequest', 'malformed path'],
      [
        `${fake.url}/api/v1/namespaces/default/gizmos`,
        undefined,
        404,
        'NotFound',
        'the server could not find the requested resource',
      ],
      [`${fake.url}/apis/apps/v1/namespaces/default/deployments/web/frobnicate`, undefined, 404, 'NotFound', 'could not find'],
      [`${fake.url}/api/v1/pods`, json({ metadata: { name: 'x' } }), 405, 'MethodNotAllowed', 'does not allow'],
      [
        `${pods()}/p1`,
        { method: 'PATCH', headers: { 'content-type': 'application/strategic-merge-patch+json' }, body: '{}' },
        415,
        'UnsupportedMediaType',
        'unknown format',
      ],
    ];
    for (const [url, init, status, reason, message] of cases) {
      const res = await fetch(url, init);
      const body = await read(res);
      expect({ url, status: res.status, reason: body.reason, kind: body.kind, code: body.code }).toEqual({
        url,
        status,
        reason,
        kind: 'Status',
        code: status,
      });
      expect(body.message).toContain(message);
    }
  });

  it('names grouped resources as the API server does in messages', async () => {
    const res = await fetch(`${fake.url}/apis/apps/v1/namespaces/default/deployments/web`);
    expect(await read(res)).toMatchObject({
      message: 'deployments.apps "web" not found',
      details: { name: 'web', group: 'apps', kind: 'deployments' },
    });
  });

  it('refuses an update from a stale resourceVersion with 409 Conflict, accepts a fresh one', async () => {
    const stored = fake.put(enginePod({ name: 'p1', model: 'm' }));
    fake.modify({ apiVersion: 'v1', kind: 'Pod', name: 'p1' }, (p) => (p.metadata!.labels!['x'] = '1'));
    const stale = await fetch(`${pods()}/p1`, { ...json(stored), method: 'PUT' });
    expect(stale.status).toBe(409);
    expect((await read(stale)).reason).toBe('Conflict');

    const fresh = fake.get({ apiVersion: 'v1', kind: 'Pod', name: 'p1' })!;
    fresh.metadata!.labels!['y'] = '2';
    const ok = await fetch(`${pods()}/p1`, { ...json(fresh), method: 'PUT' });
    expect(ok.status).toBe(200);
    expect((await read(ok)).metadata.labels).toMatchObject({ x: '1', y: '2' });
  });

  it('keeps status out of main-resource writes and spec out of /status writes; bumps generation on spec changes only', async () => {
    fake.put(workload({ name: 'web', replicas: 2, currentReplicas: 1 }));
    const url = `${fake.url}/apis/apps/v1/namespaces/default/deployments/web`;
    const current = await read(await fetch(url));

    const main = await read(
      await fetch(url, {
        ...json({ ...current, spec: { ...current.spec, paused: true }, status: { replicas: 99 } }),
        method: 'PUT',
      }),
    );
    expect(main.status).toEqual({ replicas: 1 });
    expect(main.metadata.generation).toBe(2); // spec changed: 1 → 2

    const status = await read(
      await fetch(`${url}/status`, { ...json({ ...main, spec: { replicas: 7 }, status: { replicas: 2 } }), method: 'PUT' }),
    );
    expect(status.status).toEqual({ replicas: 2 });
    expect(status.spec.replicas).toBe(2);
    expect(status.metadata.generation).toBe(2); // status writes do not bump it
  });

  it('applies merge patches and JSON patches, 422 when a JSON patch cannot apply', async () => {
    fake.put(enginePod({ name: 'p1', model: 'm' }));
    const patch = (contentType: string, body: unknown) =>
      fetch(`${pods()}/p1`, { method: 'PATCH', headers: { 'content-type': contentType }, body: JSON.stringify(body) });
    const merged = await read(
      await patch('application/merge-patch+json', { metadata: { labels: { tier: 'gold', 'brix.io/model': null } } }),
    );
    expect(merged.metadata.labels).toEqual({ tier: 'gold' });
    const jsonPatched = await read(
      await patch('application/json-patch+json', [{ op: 'add', path: '/metadata/annotations/a', value: 'b' }]),
    );
    expect(jsonPatched.metadata.annotations).toMatchObject({ a: 'b' });
    const failed = await patch('application/json-patch+json', [{ op: 'test', path: '/metadata/name', value: 'other' }]);
    expect(failed.status).toBe(422);
    // A merge patch that names a stale resourceVersion is a conditional write: 409.
    const conditional = await patch('application/merge-patch+json', { metadata: { resourceVersion: '1', labels: { z: '1' } } });
    expect(conditional.status).toBe(409);
  });

  it('serves /scale over spec.replicas, status.replicas and the selector; validates replicas', async () => {
    fake.put(workload({ name: 'web', replicas: 2, currentReplicas: 1, matchLabels: { app: 'web', 'brix.io/model': 'llama' } }));
    const url = `${fake.url}/apis/apps/v1/namespaces/default/deployments/web/scale`;
    const scale = await read(await fetch(url));
    expect(scale).toMatchObject({
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      metadata: { name: 'web', namespace: 'default' },
      spec: { replicas: 2 },
      status: { replicas: 1, selector: 'app=web,brix.io/model=llama' },
    });
    const put = await read(await fetch(url, { ...json({ ...scale, spec: { replicas: 4 } }), method: 'PUT' }));
    expect(put.spec.replicas).toBe(4);
    expect(fake.get({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' })).toMatchObject({
      spec: { replicas: 4 },
      metadata: { generation: 2 },
    });
    // The Scale's resourceVersion is the workload's: reusing the old one conflicts.
    expect((await fetch(url, { ...json({ ...scale, spec: { replicas: 5 } }), method: 'PUT' })).status).toBe(409);
    const negative = await fetch(url, {
      method: 'PATCH',
      headers: { 'content-type': 'application/merge-patch+json' },
      body: '{"spec":{"replicas":-1}}',
    });
    expect(negative.status).toBe(422);
    expect((await read(negative)).message).toContain('spec.replicas');
  });

  it('defaults spec.replicas to 1 when a workload is created without it', async () => {
    const res = await fetch(
      `${fake.url}/apis/apps/v1/namespaces/default/deployments`,
      json({ metadata: { name: 'web' }, spec: { selector: {} } }),
    );
    expect((await read(res)).spec.replicas).toBe(1);
  });

  it('deletes an object with finalizers in two steps: deletionTimestamp, then removal when they are gone', async () => {
    fake.put(enginePod({ name: 'p1', model: 'm', finalizers: ['brix.io/drain'] }));
    const first = await read(await fetch(`${pods()}/p1`, { method: 'DELETE' }));
    expect(first.metadata.deletionTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect((await fetch(`${pods()}/p1`)).status).toBe(200);
    await fetch(`${pods()}/p1`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/merge-patch+json' },
      body: JSON.stringify({ metadata: { finalizers: null } }),
    });
    expect((await fetch(`${pods()}/p1`)).status).toBe(404);
  });

  it('filters lists by label and field selectors and by namespace', async () => {
    fake.put(enginePod({ name: 'a', model: 'llama', node: 'n1' }));
    fake.put(enginePod({ name: 'b', model: 'qwen', node: 'n2' }));
    fake.put(enginePod({ name: 'c', namespace: 'other', model: 'llama', node: 'n1' }));
    const names = async (url: string) =>
      (await read(await fetch(url))).items.map((p: V1Pod) => `${p.metadata?.namespace}/${p.metadata?.name}`);
    expect(await names(`${fake.url}/api/v1/pods?labelSelector=${encodeURIComponent('brix.io/model=llama')}`)).toEqual([
      'default/a',
      'other/c',
    ]);
    expect(await names(`${pods()}?labelSelector=${encodeURIComponent('brix.io/model in (llama,qwen)')}`)).toEqual([
      'default/a',
      'default/b',
    ]);
    expect(await names(`${fake.url}/api/v1/pods?fieldSelector=spec.nodeName%3Dn1`)).toEqual(['default/a', 'other/c']);
    expect(await names(`${fake.url}/api/v1/pods?fieldSelector=metadata.namespace!%3Ddefault`)).toEqual(['other/c']);
  });

  describe('watch', () => {
    it('starts with synthetic ADDED events when no resourceVersion is given, then streams changes', async () => {
      fake.put(enginePod({ name: 'a', model: 'm' }));
      const w = openWatch(`${pods()}?watch=true`);
      await waitFor(() => w.events.length === 1, 'the initial ADDED');
      fake.modify({ apiVersion: 'v1', kind: 'Pod', name: 'a' }, (p) => (p.metadata!.labels!['x'] = '1'));
      fake.put(enginePod({ name: 'b', model: 'm' }));
      fake.remove({ apiVersion: 'v1', kind: 'Pod', name: 'a' });
      await waitFor(() => w.events.length === 4, 'four events');
      expect(w.names()).toEqual(['ADDED:a', 'MODIFIED:a', 'ADDED:b', 'DELETED:a']);
      // Each event carries the resourceVersion of its write, increasing.
      const rvs = w.events.map((e) => Number(e.object.metadata?.resourceVersion));
      expect([...rvs].sort((x, y) => x - y)).toEqual(rvs);
      await w.stop();
    });

    it('replays kept history after the resourceVersion it resumes from', async () => {
      fake.put(enginePod({ name: 'a', model: 'm' }));
      const from = fake.resourceVersion;
      fake.put(enginePod({ name: 'b', model: 'm' }));
      fake.remove({ apiVersion: 'v1', kind: 'Pod', name: 'a' });
      const w = openWatch(`${pods()}?watch=true&resourceVersion=${from}`);
      await waitFor(() => w.events.length === 2, 'two replayed events');
      expect(w.names()).toEqual(['ADDED:b', 'DELETED:a']);
      await w.stop();
    });

    it('answers a resume from a compacted resourceVersion with a 410 Expired ERROR event and ends the stream', async () => {
      fake.put(enginePod({ name: 'a', model: 'm' }));
      const from = fake.resourceVersion;
      fake.compact();
      const w = openWatch(`${pods()}?watch=true&resourceVersion=${from}`);
      await waitFor(() => w.ended, 'the stream to end');
      expect(w.events).toEqual([
        { type: 'ERROR', object: expect.objectContaining({ kind: 'Status', code: 410, reason: 'Expired' }) },
      ]);
      // A fresh list gives a resourceVersion that can be resumed from.
      const rv = (await read(await fetch(pods()))).metadata.resourceVersion;
      const again = openWatch(`${pods()}?watch=true&resourceVersion=${rv}`);
      fake.put(enginePod({ name: 'b', model: 'm' }));
      await waitFor(() => again.events.length === 1, 'the next event');
      expect(again.names()).toEqual(['ADDED:b']);
      await again.stop();
    });

    it('turns selector transitions into ADDED and DELETED for that watch', async () => {
      fake.put(enginePod({ name: 'a', model: 'llama' }));
      const w = openWatch(`${pods()}?watch=true&labelSelector=${encodeURIComponent('brix.io/model=llama')}`);
      await waitFor(() => w.events.length === 1, 'the initial ADDED');
      fake.modify({ apiVersion: 'v1', kind: 'Pod', name: 'a' }, (p) => (p.metadata!.labels!['brix.io/model'] = 'qwen'));
      fake.modify({ apiVersion: 'v1', kind: 'Pod', name: 'a' }, (p) => (p.metadata!.labels!['tier'] = 'x')); // not selected: unseen
      fake.modify({ apiVersion: 'v1', kind: 'Pod', name: 'a' }, (p) => (p.metadata!.labels!['brix.io/model'] = 'llama'));
      await waitFor(() => w.events.length === 3, 'three events');
      expect(w.names()).toEqual(['ADDED:a', 'DELETED:a', 'ADDED:a']);
      await w.stop();
    });

    it('does not send a write that changes nothing', async () => {
      const pod = enginePod({ name: 'a', model: 'm' });
      fake.put(pod);
      const rv = fake.resourceVersion;
      fake.put(pod);
      expect(fake.resourceVersion).toBe(rv);
    });

    it('sends bookmarks only to watches that asked, and drops a watch when its client goes', async () => {
      const plain = openWatch(`${pods()}?watch=true`);
      const marked = openWatch(`${pods()}?watch=true&allowWatchBookmarks=true`);
      await waitFor(() => fake.watchCount === 2, 'two watches');
      fake.bookmark();
      await waitFor(() => marked.events.length === 1, 'a bookmark');
      expect(marked.events[0]).toEqual({
        type: 'BOOKMARK',
        object: { kind: 'Pod', apiVersion: 'v1', metadata: { resourceVersion: fake.resourceVersion } },
      });
      expect(plain.events).toEqual([]);
      await plain.stop();
      await waitFor(() => fake.watchCount === 1, 'the dropped watch to be forgotten');
      await marked.stop();
      await waitFor(() => fake.watchCount === 0, 'no watches');
    });

    it('ends every watch on closeWatches() and after timeoutSeconds', async () => {
      const a = openWatch(`${pods()}?watch=true`);
      const b = openWatch(`${pods()}?watch=1&timeoutSeconds=1`);
      await waitFor(() => fake.watchCount === 2, 'two watches');
      await waitFor(() => b.ended, 'the timed watch to end');
      expect(a.ended).toBe(false);
      expect(fake.closeWatches()).toBe(1);
      await waitFor(() => a.ended, 'the other watch to end');
    });
  });

  it('answers 503 while unavailable, and lets test helpers work meanwhile', async () => {
    fake.setUnavailable(true);
    const res = await fetch(pods());
    expect(res.status).toBe(503);
    expect((await read(res)).reason).toBe('ServiceUnavailable');
    fake.put(enginePod({ name: 'a', model: 'm' }));
    fake.setUnavailable(false);
    expect((await read(await fetch(pods()))).items).toHaveLength(1);
    expect(fake.requests.map((r) => `${r.verb} ${r.status}`)).toEqual(['list 503', 'list 200']);
  });

  it('requires the bearer token when configured with one', async () => {
    const secured = await FakeKubeApiServer.start({ token: 's3cret' });
    try {
      expect((await fetch(`${secured.url}/api/v1/pods`)).status).toBe(401);
      expect((await fetch(`${secured.url}/api/v1/pods`, { headers: { authorization: 'Bearer s3cret' } })).status).toBe(200);
    } finally {
      await secured.close();
    }
  });

  it('keeps only historyLimit events, expiring older resume points', async () => {
    const small = await FakeKubeApiServer.start({ historyLimit: 2 });
    try {
      small.put(enginePod({ name: 'a', model: 'm' }));
      const from = small.resourceVersion;
      small.put(enginePod({ name: 'b', model: 'm' }));
      small.put(enginePod({ name: 'c', model: 'm' }));
      small.put(enginePod({ name: 'd', model: 'm' })); // the event for b is dropped: resuming from a's version misses it
      const w = openWatch(`${small.url}/api/v1/namespaces/default/pods?watch=true&resourceVersion=${from}`);
      await waitFor(() => w.ended, 'the expired stream to end');
      expect(w.events[0]?.object.code).toBe(410);
    } finally {
      await small.close();
    }
  });
});

describe('FakeKubeApiServer through @kubernetes/client-node', () => {
  let fake: FakeKubeApiServer;
  beforeEach(async () => {
    fake = await FakeKubeApiServer.start();
    fake.defineResource({
      group: 'brix.io',
      version: 'v1alpha1',
      plural: 'modeladapters',
      kind: 'ModelAdapter',
      namespaced: true,
      status: true,
    });
    fake.defineResource({ group: 'brix.io', version: 'v1alpha1', plural: 'gpuprofiles', kind: 'GpuProfile', namespaced: false });
  });
  afterEach(async () => {
    await fake.close();
  });

  it('serves the typed core and apps clients', async () => {
    const kc = kubeConfigForUrl(fake.url);
    const core = kc.makeApiClient(CoreV1Api);
    await core.createNamespacedPod({
      namespace: 'prod',
      body: { metadata: { name: 'p1' }, spec: { containers: [{ name: 'c', image: 'i' }] } },
    });
    const pod = await core.readNamespacedPod({ namespace: 'prod', name: 'p1' });
    expect(pod.metadata?.creationTimestamp).toBeInstanceOf(Date);
    const list = await core.listPodForAllNamespaces();
    expect(list.items.map((p) => p.metadata?.name)).toEqual(['p1']);

    fake.put(workload({ name: 'web', namespace: 'prod', replicas: 1 }));
    const apps = kc.makeApiClient(AppsV1Api);
    const scaled = await apps.patchNamespacedDeploymentScale(
      { namespace: 'prod', name: 'web', body: { spec: { replicas: 3 } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    expect(scaled.spec?.replicas).toBe(3);
    // client-node's default patch type is JSON patch.
    const jsonPatched = await apps.patchNamespacedDeployment({
      namespace: 'prod',
      name: 'web',
      body: [{ op: 'replace', path: '/spec/replicas', value: 5 }],
    });
    expect(jsonPatched.spec?.replicas).toBe(5);
  });

  it('serves custom resources, namespaced and cluster-scoped, with a status subresource', async () => {
    const custom = kubeConfigForUrl(fake.url).makeApiClient(CustomObjectsApi);
    const ref = { group: 'brix.io', version: 'v1alpha1', plural: 'modeladapters' };
    const created = await custom.createNamespacedCustomObject({
      ...ref,
      namespace: 'prod',
      body: {
        apiVersion: 'brix.io/v1alpha1',
        kind: 'ModelAdapter',
        metadata: { name: 'sql-lora' },
        spec: { baseModel: 'llama' },
        status: { phase: 'x' },
      },
    });
    expect(created.status).toBeUndefined(); // status is not written on create
    const withStatus = await custom.replaceNamespacedCustomObjectStatus({
      ...ref,
      namespace: 'prod',
      name: 'sql-lora',
      body: { ...created, status: { phase: 'Running' } },
    });
    expect(withStatus.status).toEqual({ phase: 'Running' });
    const all = await custom.listCustomObjectForAllNamespaces(ref);
    expect(all.items.map((o: { metadata: { name: string } }) => o.metadata.name)).toEqual(['sql-lora']);

    const profiles = { group: 'brix.io', version: 'v1alpha1', plural: 'gpuprofiles' };
    await custom.createClusterCustomObject({
      ...profiles,
      body: { metadata: { name: 'h100', namespace: 'ignored' }, spec: { costPerHour: 4 } },
    });
    const profile = await custom.getClusterCustomObject({ ...profiles, name: 'h100' });
    expect(profile.metadata.namespace).toBeUndefined();
    expect(profile.apiVersion).toBe('brix.io/v1alpha1');
  });

  it("feeds client-node's Watch with events it parses", async () => {
    const seen: string[] = [];
    const watch = new Watch(kubeConfigForUrl(fake.url));
    const controller = await watch.watch(
      '/api/v1/namespaces/default/pods',
      {},
      (type, obj) => seen.push(`${type}:${obj.metadata.name}`),
      () => undefined,
    );
    fake.put(enginePod({ name: 'a', model: 'm' }));
    await waitFor(() => seen.length === 1, 'the event');
    expect(seen).toEqual(['ADDED:a']);
    controller.abort();
    await waitFor(() => fake.watchCount === 0, 'the watch to be dropped');
  });
});
