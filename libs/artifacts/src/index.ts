// Public surface of @brix/artifacts: downloads of model and adapter artifacts into a verified on-disk
// cache, from file, http(s), s3 and huggingface sources, under an allow-list policy.
export * from './errors';
export * from './schemas';
export * from './credentials';
export * from './checksum';
export { safeRelativePath, prepareInside } from './paths';
export { forbiddenAddressReason, forbiddenHostReason, FORBIDDEN_HOSTNAMES } from './policy/address';
export * from './policy/policy';
export { GuardedHttp, type GuardedHttpOptions } from './http-client';
export * from './sources';
export { DEFAULT_TRANSFER, type TransferSettings } from './transfer';
export * from './store';
