// Public surface of @brix/engine-metrics: Prometheus text parsing, engine → Brix metric tables,
// load snapshots from successive scrapes, and a clock-driven scraper. Framework-free.
export * from './prometheus/parse';
export * from './vocabulary';
export * from './table';
export * from './errors';
export * from './registry';
export * from './standardize';
export * from './load-tracker';
export * from './exposition';
export * from './scraper';
export * from './engines';
