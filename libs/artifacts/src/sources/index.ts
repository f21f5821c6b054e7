import { type CredentialProvider } from '../credentials';
import { type SourcePolicy } from '../policy/policy';
import { fileSource } from './file/file';
import { httpSource } from './http/http';
import { huggingFaceSource, type HuggingFaceOptions } from './huggingface/huggingface';
import { SourceRegistry } from './registry';
import { s3Source, type S3Options } from './s3/s3';

export { fileSource } from './file/file';
export { httpSource, checksumsFromHeaders } from './http/http';
export { huggingFaceSource, type HuggingFaceOptions } from './huggingface/huggingface';
export { s3Source, type S3Options } from './s3/s3';
export { SourceRegistry } from './registry';
export * from './types';

export interface BuiltInSourceOptions {
  huggingface: HuggingFaceOptions;
  s3: S3Options;
  policy: SourcePolicy;
  credentials: CredentialProvider;
}

/** The one place built-in source plugins are registered. Returns the registry and a closer for pooled clients. */
export function createSourceRegistry(options: BuiltInSourceOptions): { registry: SourceRegistry; close(): void } {
  const s3 = s3Source(options.s3, options.policy, options.credentials);
  const registry = new SourceRegistry()
    .register(fileSource)
    .register(httpSource)
    .register(s3)
    .register(huggingFaceSource(options.huggingface));
  return { registry, close: () => s3.close() };
}
