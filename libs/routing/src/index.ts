// Public surface of @brix/routing: the routing framework (filters → scorers → picker, profiles, Router),
// every built-in routing policy, and the shared state they learn (prefix index, session table).
// Framework-free: depends on @brix/clock, @brix/contracts and typebox only.
export * from './types';
export * from './load';
export * from './framework/plugin';
export * from './framework/errors';
export * from './framework/config';
export * from './framework/registry';
export * from './framework/strategy';
export * from './framework/router';
export * from './state/engine-load-state';
export * from './state/prefix-index';
export * from './state/session-table';
export * from './plugins/register';
export * from './plugins/builtin-config';
export * from './create-router';
