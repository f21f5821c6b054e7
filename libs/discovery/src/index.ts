// Public surface of @brix/discovery: the EngineDirectory port, its in-memory adapter and contract suite.
export * from './port';
export * from './memory-directory';
export * from './lifecycle';
