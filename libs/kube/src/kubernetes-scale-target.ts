/**
 * ScaleTarget over the `/scale` subresource (autoscaling/v1 Scale) of apps/v1 workloads: the same
 * interface the HorizontalPodAutoscaler and `kubectl scale` use, so Brix needs only `get` and `patch`
 * on `<workload>/scale`, never write access to the workload itself.
 */
import { AppsV1Api, type KubeConfig, PatchStrategy, setHeaderOptions, type V1Scale } from '@kubernetes/client-node';
import { fromKubeError } from './errors';
import {
  assertReplicaCount,
  type Replicas,
  type ScaleTarget,
  type ScaleTargetRef,
  UnsupportedScaleKindError,
} from './scale-target';

type Request = { name: string; namespace: string };
type PatchRequest = Request & { body: object };

interface KindOps {
  plural: string;
  read(api: AppsV1Api, r: Request): Promise<V1Scale>;
  patch(api: AppsV1Api, r: PatchRequest): Promise<V1Scale>;
}

/** A merge patch on the Scale: the one field we change, no read-modify-write race over the rest. */
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

const kinds: Record<string, KindOps> = {
  Deployment: {
    plural: 'deployments',
    read: (api, r) => api.readNamespacedDeploymentScale(r),
    patch: (api, r) => api.patchNamespacedDeploymentScale(r, mergePatch),
  },
  StatefulSet: {
    plural: 'statefulsets',
    read: (api, r) => api.readNamespacedStatefulSetScale(r),
    patch: (api, r) => api.patchNamespacedStatefulSetScale(r, mergePatch),
  },
  ReplicaSet: {
    plural: 'replicasets',
    read: (api, r) => api.readNamespacedReplicaSetScale(r),
    patch: (api, r) => api.patchNamespacedReplicaSetScale(r, mergePatch),
  },
};

const toReplicas = (s: V1Scale): Replicas => ({
  desired: s.spec?.replicas ?? 0,
  current: s.status?.replicas ?? 0,
  selector: s.status?.selector ?? '',
});

export class KubernetesScaleTarget implements ScaleTarget {
  private readonly api: AppsV1Api;

  constructor(kubeConfig: KubeConfig) {
    this.api = kubeConfig.makeApiClient(AppsV1Api);
  }

  async getReplicas(target: ScaleTargetRef): Promise<Replicas> {
    const ops = this.ops(target);
    try {
      return toReplicas(await ops.read(this.api, { name: target.name, namespace: target.namespace }));
    } catch (err) {
      throw fromKubeError(err, `read scale of ${ops.plural}/${target.name} in namespace ${target.namespace}`);
    }
  }

  async setReplicas(target: ScaleTargetRef, replicas: number): Promise<Replicas> {
    const ops = this.ops(target);
    assertReplicaCount(replicas);
    try {
      const body = { spec: { replicas } };
      return toReplicas(await ops.patch(this.api, { name: target.name, namespace: target.namespace, body }));
    } catch (err) {
      throw fromKubeError(err, `scale ${ops.plural}/${target.name} in namespace ${target.namespace} to ${replicas}`);
    }
  }

  private ops(target: ScaleTargetRef): KindOps {
    const ops = Object.prototype.hasOwnProperty.call(kinds, target.kind) ? kinds[target.kind] : undefined;
    if (!ops) throw new UnsupportedScaleKindError(target.kind, Object.keys(kinds));
    return ops;
  }
}
