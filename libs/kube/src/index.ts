// Public surface of @brix/kube: Kubernetes adapters for the ports (client-node), KubeConfig factories and
// the pod label contract. The fake API server for tests is in the test-only surface, @brix/kube/testing.
export * from './errors';
export * from './kube-config';
export * from './pod-engine';
export * from './reflector';
export * from './engine-directory';
export * from './scale-target';
export * from './kubernetes-scale-target';
export * from './resource-store';
export * from './kubernetes-resource-store';
