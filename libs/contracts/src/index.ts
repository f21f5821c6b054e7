// Public surface of @brix/contracts: schemas and subjects for every bus message and shared REST body.
// Framework-free: depends on typebox only.
export * from './contract';
export * from './subject';
export * from './errors';
export * from './messages';
