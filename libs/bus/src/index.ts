// Public surface of @brix/bus: the Bus port, its two adapters, typed publish/subscribe and JSON KV helpers.
export * from './port';
export * from './typed';
export { MemoryBus, type MemoryBusOptions } from './memory/memory-bus';
export { NatsBus, type NatsBusOptions } from './nats/nats-bus';
export { connectBus, type ConnectBusOptions } from './connect';
