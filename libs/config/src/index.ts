// Public surface of @brix/config: TypeBox-validated settings from env and an optional JSON file.
export * from './config';
export * from './common';
