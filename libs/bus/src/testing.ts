// Test-only surface of @brix/bus: the adapter contract suite and a message collector (imports jest globals).
export * from './bus-contract';
