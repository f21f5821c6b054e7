// Public surface of @brix/gateway-core: the gateway's request path, engine state and wiring.
export * from './admission';
export * from './config';
export * from './gateway';
export * from './metrics';
export * from './routing-port';
export * from './prefix/prefix-hasher';
export * from './proxy/breaker';
export * from './proxy/sse';
export * from './proxy/upstream';
export * from './state/engine-state';
export * from './state/engine-poller';
export * from './stats/stats-batcher';
export * from './api/request-body';
export * from './api/schemas';
export * from './state/static-engines';
export * from './state/metrics-interpreter';
