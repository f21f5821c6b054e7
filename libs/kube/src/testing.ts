// Test-only surface of @brix/kube: the in-process fake Kubernetes API server (the stand-in for a cluster)
// and builders for the objects tests seed into it.
export * from './fake-api-server/fake-api-server';
export * from './fake-api-server/resources';
export * from './fake-api-server/status';
export * from './fake-api-server/label-selector';
export * from './fake-api-server/patch';
export * from './fake-api-server/builders';
