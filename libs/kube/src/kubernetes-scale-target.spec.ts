import { BadRequestError, NotFoundError } from '@brix/contracts';
import { KubernetesApiError } from './errors';
import { kubeConfigForUrl } from './kube-config';
import { KubernetesScaleTarget } from './kubernetes-scale-target';
import { UnsupportedScaleKindError } from './scale-target';
import { FakeKubeApiServer, workload } from './testing';

describe('KubernetesScaleTarget', () => {
  let fake: FakeKubeApiServer;
  let target: KubernetesScaleTarget;
  beforeEach(async () => {
    fake = await FakeKubeApiServer.start();
    target = new KubernetesScaleTarget(kubeConfigForUrl(fake.url));
  });
  afterEach(async () => {
    await fake.close();
  });

  it.each(['Deployment', 'StatefulSet', 'ReplicaSet'] as const)(
    'reads and sets the replicas of a %s through /scale',
    async (kind) => {
      fake.put(
        workload({
          kind,
          name: 'llama',
          namespace: 'serving',
          replicas: 2,
          currentReplicas: 1,
          matchLabels: { 'brix.io/model': 'llama' },
        }),
      );
      const ref = { namespace: 'serving', kind, name: 'llama' };
      expect(await target.getReplicas(ref)).toEqual({ desired: 2, current: 1, selector: 'brix.io/model=llama' });
      expect(await target.setReplicas(ref, 5)).toEqual({ desired: 5, current: 1, selector: 'brix.io/model=llama' });
      expect(fake.get({ apiVersion: 'apps/v1', kind, name: 'llama', namespace: 'serving' })).toMatchObject({
        spec: { replicas: 5 },
      });
      // Only the scale subresource was touched, never the workload itself.
      const plural = { Deployment: 'deployments', StatefulSet: 'statefulsets', ReplicaSet: 'replicasets' }[kind];
      expect(fake.requests.map((r) => `${r.verb} ${r.resource}/${r.subresource}`)).toEqual([
        `get ${plural}/scale`,
        `patch ${plural}/scale`,
      ]);
    },
  );

  it('scales to zero', async () => {
    fake.put(workload({ name: 'web', replicas: 3 }));
    expect(await target.setReplicas({ namespace: 'default', kind: 'Deployment', name: 'web' }, 0)).toMatchObject({ desired: 0 });
  });

  it('does not undo a concurrent change to other fields of the workload', async () => {
    fake.put(workload({ name: 'web', replicas: 1 }));
    fake.modify(
      { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' },
      (d) => ((d['spec'] as Record<string, unknown>)['paused'] = true),
    );
    await target.setReplicas({ namespace: 'default', kind: 'Deployment', name: 'web' }, 2);
    expect(fake.get({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' })).toMatchObject({
      spec: { replicas: 2, paused: true },
    });
  });

  it('answers NotFoundError for a missing workload', async () => {
    const ref = { namespace: 'default', kind: 'Deployment', name: 'ghost' };
    await expect(target.getReplicas(ref)).rejects.toThrow(NotFoundError);
    await expect(target.setReplicas(ref, 1)).rejects.toMatchObject({
      status: 404,
      message: 'scale deployments/ghost in namespace default to 1: deployments.apps "ghost" not found',
    });
  });

  it.each([
    [-1, 'negative'],
    [1.5, 'fractional'],
    [Number.NaN, 'not a number'],
  ])('refuses %p replicas (%s) before calling the API', async (n) => {
    fake.put(workload({ name: 'web', replicas: 1 }));
    await expect(target.setReplicas({ namespace: 'default', kind: 'Deployment', name: 'web' }, n)).rejects.toThrow(
      BadRequestError,
    );
    expect(fake.requests).toEqual([]);
  });

  it('refuses a kind it cannot scale', async () => {
    await expect(target.getReplicas({ namespace: 'default', kind: 'DaemonSet', name: 'x' })).rejects.toThrow(
      UnsupportedScaleKindError,
    );
    await expect(target.getReplicas({ namespace: 'default', kind: 'toString', name: 'x' })).rejects.toMatchObject({
      status: 400,
    });
  });

  it('reports an unreachable or refusing API server as a KubernetesApiError (502), not a client error', async () => {
    fake.put(workload({ name: 'web', replicas: 1 }));
    fake.setUnavailable(true);
    const refused = await target.getReplicas({ namespace: 'default', kind: 'Deployment', name: 'web' }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(KubernetesApiError);
    expect(refused).toMatchObject({ status: 502, statusCode: 503 });
    await fake.close();
    const unreachable = await target
      .getReplicas({ namespace: 'default', kind: 'Deployment', name: 'web' })
      .catch((e: unknown) => e);
    expect(unreachable).toMatchObject({ status: 502, statusCode: undefined, name: 'KubernetesApiError' });
    fake = await FakeKubeApiServer.start(); // for afterEach
  });
});
