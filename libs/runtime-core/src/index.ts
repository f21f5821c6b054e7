// Public surface of @brix/runtime-core: the ai-runtime sidecar's logic (metrics, load snapshots,
// artifacts, adapters, KV-event bridge, engine lifecycle) behind buildRuntime, and startSidecar for
// hosting sidecars in-process (the embedded stack).
export * from './runtime';
export * from './sidecar';
export * from './engine/engine-client';
export * from './adapters/adapter-manager';
export * from './adapters/schemas';
export * from './kv-events/decode';
export * from './kv-events/transport';
export * from './kv-events/bridge';
export { kvBridgeMetrics, registerEngineFamilies, runtimeMetrics, adapterMetrics } from './metrics';
