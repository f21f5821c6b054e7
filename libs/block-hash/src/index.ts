// Public surface of @brix/block-hash.
export * from './block-hash';
