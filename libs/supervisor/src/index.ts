// Public surface of @brix/supervisor: the local supervisor of embedded mode and a process launcher.
export * from './supervisor';
export * from './process-launcher';
