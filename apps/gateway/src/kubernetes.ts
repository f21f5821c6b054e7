import { KubernetesEngineDirectory, kubeConfigInCluster } from '@brix/kube';
import { type Logger } from '@brix/observability';

/** The Kubernetes EngineDirectory from in-cluster credentials; loaded only in that mode. */
export async function createKubernetesEngineDirectory(namespace: string, logger: Logger): Promise<KubernetesEngineDirectory> {
  const directory = new KubernetesEngineDirectory({
    kubeConfig: kubeConfigInCluster(),
    namespace: namespace || undefined,
    logger: logger.child({ component: 'kube-directory' }),
  }).start();
  await directory.synced;
  return directory;
}
