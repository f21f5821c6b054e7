/**
 * KubeConfig factories: in-cluster (a pod's service account) for production, a plain URL for tests and
 * for running a service outside the cluster (`kubectl proxy`, the fake API server). Mains choose with
 * {@link kubeConfigFromSettings}; adapters take the KubeConfig and never read files or env themselves.
 */
import { setting } from '@brix/config';
import { KubeConfig } from '@kubernetes/client-node';
import Type from 'typebox';
import { KubeConfigError } from './errors';

export interface UrlKubeConfigOptions {
  /** Bearer token sent with every request. */
  token?: string;
  /**
   * Skip TLS verification. Default: true for `http://` URLs (client-node refuses a plain-HTTP server
   * unless this is set, although no TLS is involved), false for `https://`.
   */
  skipTlsVerify?: boolean;
  /** PEM CA bundle for an `https://` server with a private CA. */
  caData?: string;
}

/** A KubeConfig talking to the API server at `url` (`http://127.0.0.1:8001`, `https://k8s.example:6443`). */
export function kubeConfigForUrl(url: string, options: UrlKubeConfigOptions = {}): KubeConfig {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new KubeConfigError(`Kubernetes API URL "${url}" is not a URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new KubeConfigError(`Kubernetes API URL "${url}" must be http:// or https://`);
  }
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [
      {
        name: 'brix',
        server: url.replace(/\/+$/, ''),
        skipTLSVerify: options.skipTlsVerify ?? parsed.protocol === 'http:',
        ...(options.caData ? { caData: Buffer.from(options.caData).toString('base64') } : {}),
      },
    ],
    users: [{ name: 'brix', ...(options.token ? { token: options.token } : {}) }],
    contexts: [{ name: 'brix', cluster: 'brix', user: 'brix' }],
    currentContext: 'brix',
  });
  return kc;
}

/**
 * A KubeConfig from the pod's service account (token, CA and namespace under
 * /var/run/secrets/kubernetes.io/serviceaccount; API address from KUBERNETES_SERVICE_HOST/PORT), as
 * client-node's loadFromCluster reads them. Throws {@link KubeConfigError} outside a cluster.
 */
export function kubeConfigInCluster(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromCluster();
  const server = kc.getCurrentCluster()?.server ?? '';
  if (server.includes('undefined')) {
    throw new KubeConfigError(
      'not running in a Kubernetes pod (KUBERNETES_SERVICE_HOST/KUBERNETES_SERVICE_PORT unset); set BRIX_KUBE_API_URL to reach an API server',
    );
  }
  return kc;
}

/** The namespace of the current context: the service account's namespace in a cluster; undefined when unknown. */
export function contextNamespace(kc: KubeConfig): string | undefined {
  const ns = kc.getContextObject(kc.getCurrentContext())?.namespace?.trim();
  return ns ? ns : undefined;
}

/** Settings a service that talks to Kubernetes spreads into its config spec. */
export const kubeSettings = {
  kubeApiUrl: setting(
    'BRIX_KUBE_API_URL',
    Type.String({ default: '' }),
    'Kubernetes API server URL; empty = in-cluster service account (distributed mode)',
  ),
  kubeToken: setting('BRIX_KUBE_TOKEN', Type.String({ default: '' }), 'bearer token for BRIX_KUBE_API_URL; empty = none'),
  kubeNamespace: setting(
    'BRIX_KUBE_NAMESPACE',
    Type.String({ default: '' }),
    'namespace to watch for engine pods and custom resources; empty = all namespaces (needs cluster-wide RBAC)',
  ),
};

/** In-cluster when `kubeApiUrl` is empty, else the URL (with the token, if any). */
export function kubeConfigFromSettings(settings: { kubeApiUrl: string; kubeToken?: string }): KubeConfig {
  if (settings.kubeApiUrl === '') return kubeConfigInCluster();
  return kubeConfigForUrl(settings.kubeApiUrl, settings.kubeToken ? { token: settings.kubeToken } : {});
}
