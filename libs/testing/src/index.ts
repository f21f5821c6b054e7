// Public surface of @brix/testing: helpers for integration tests that use real servers and processes.
export * from './nats-server';
export * from './processes';
export * from './wait';
