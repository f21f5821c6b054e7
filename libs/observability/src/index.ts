// Public surface of @brix/observability: pino logging conventions and prom-client registries.
export * from './logger';
export * from './metrics';
