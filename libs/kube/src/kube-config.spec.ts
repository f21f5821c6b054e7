import { loadConfig } from '@brix/config';
import { CoreV1Api } from '@kubernetes/client-node';
import { KubeConfigError } from './errors';
import { contextNamespace, kubeConfigForUrl, kubeConfigFromSettings, kubeConfigInCluster, kubeSettings } from './kube-config';
import { FakeKubeApiServer } from './testing';

describe('kubeConfigForUrl', () => {
  it('talks to a plain-HTTP server (skipTLSVerify is what client-node needs for http://)', async () => {
    const fake = await FakeKubeApiServer.start({ token: 't0ken' });
    try {
      const kc = kubeConfigForUrl(fake.url, { token: 't0ken' });
      expect(kc.getCurrentCluster()).toMatchObject({ server: fake.url, skipTLSVerify: true });
      const list = await kc.makeApiClient(CoreV1Api).listPodForAllNamespaces();
      expect(list.items).toEqual([]);
      // Without the token the fake refuses, as an API server does.
      await expect(kubeConfigForUrl(fake.url).makeApiClient(CoreV1Api).listPodForAllNamespaces()).rejects.toMatchObject({
        code: 401,
      });
    } finally {
      await fake.close();
    }
  });

  it.each([
    ['https://k8s.example:6443', {}, false],
    ['https://k8s.example:6443', { skipTlsVerify: true }, true],
    ['http://127.0.0.1:8001/', {}, true],
  ])('sets skipTLSVerify for %s %j to %p', (url, options, skip) => {
    const cluster = kubeConfigForUrl(url, options).getCurrentCluster();
    expect(cluster?.skipTLSVerify).toBe(skip);
    expect(cluster?.server).toBe(url.replace(/\/$/, ''));
  });

  it.each(['not a url', 'ftp://k8s.example'])('refuses %p', (url) => {
    expect(() => kubeConfigForUrl(url)).toThrow(KubeConfigError);
  });
});

describe('kubeConfigInCluster', () => {
  const saved = { host: process.env['KUBERNETES_SERVICE_HOST'], port: process.env['KUBERNETES_SERVICE_PORT'] };
  const restore = (name: string, value: string | undefined) => {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  };
  afterEach(() => {
    restore('KUBERNETES_SERVICE_HOST', saved.host);
    restore('KUBERNETES_SERVICE_PORT', saved.port);
  });

  it('fails with a one-line hint outside a pod', () => {
    delete process.env['KUBERNETES_SERVICE_HOST'];
    delete process.env['KUBERNETES_SERVICE_PORT'];
    expect(() => kubeConfigInCluster()).toThrow(/not running in a Kubernetes pod.*BRIX_KUBE_API_URL/);
  });

  it('uses the service address from env', () => {
    process.env['KUBERNETES_SERVICE_HOST'] = '10.96.0.1';
    process.env['KUBERNETES_SERVICE_PORT'] = '443';
    const kc = kubeConfigInCluster();
    expect(kc.getCurrentCluster()?.server).toBe('https://10.96.0.1:443');
  });

  it("reads the current context's namespace, trimmed as a service account's namespace file needs", () => {
    const kc = kubeConfigForUrl('http://127.0.0.1:1');
    kc.contexts = [{ ...kc.contexts[0], namespace: 'serving\n' }];
    expect(contextNamespace(kc)).toBe('serving');
  });
});

describe('kubeSettings', () => {
  it('defaults to in-cluster with all namespaces', () => {
    expect(loadConfig(kubeSettings, { env: {} })).toEqual({ kubeApiUrl: '', kubeToken: '', kubeNamespace: '' });
  });

  it('builds a URL config when BRIX_KUBE_API_URL is set', () => {
    const settings = loadConfig(kubeSettings, { env: { BRIX_KUBE_API_URL: 'http://127.0.0.1:8001', BRIX_KUBE_TOKEN: 'abc' } });
    const kc = kubeConfigFromSettings(settings);
    expect(kc.getCurrentCluster()?.server).toBe('http://127.0.0.1:8001');
    expect(kc.getCurrentUser()?.token).toBe('abc');
  });
});
