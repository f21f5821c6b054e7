// Test-only surface: the adapter contract suite (imports jest globals).
export * from './directory-contract';
