import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/**
 * Digest kinds sources publish:
 * - `sha256`: Hugging Face LFS files (tree API `lfs.oid`), `x-amz-checksum-sha256`, `Repr-Digest: sha-256`;
 * - `md5`: S3 single-part ETags, `Content-MD5`, `x-goog-hash: md5`;
 * - `git-blob-sha1`: Hugging Face files kept in git (tree API `oid`): sha1 of `blob <size>\0` + content.
 */
export type ChecksumAlgorithm = 'sha256' | 'md5' | 'git-blob-sha1';

export interface Checksum {
  readonly algorithm: ChecksumAlgorithm;
  /** Lowercase hex. */
  readonly value: string;
  /** Where it came from, for messages ("hub lfs oid", "s3 etag", "content-md5 header"). */
  readonly origin: string;
}

export const base64ToHex = (b64: string) => Buffer.from(b64, 'base64').toString('hex');

function hasherFor(algorithm: ChecksumAlgorithm, size: number): Hash {
  switch (algorithm) {
    case 'sha256':
      return createHash('sha256');
    case 'md5':
      return createHash('md5');
    case 'git-blob-sha1':
      return createHash('sha1').update(`blob ${size}\0`);
  }
}

/** Computes the requested digests of a file in one read. */
export async function digestFile(
  path: string,
  size: number,
  algorithms: readonly ChecksumAlgorithm[],
): Promise<Map<ChecksumAlgorithm, string>> {
  const unique = [...new Set(algorithms)];
  const hashers = unique.map((a) => [a, hasherFor(a, size)] as const);
  if (hashers.length > 0) {
    for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }))
      for (const [, h] of hashers) h.update(chunk as Buffer);
  }
  return new Map(hashers.map(([a, h]) => [a, h.digest('hex')]));
}

/** Keeps one checksum per algorithm (the first seen), dropping malformed values. */
export function dedupeChecksums(list: readonly Checksum[]): Checksum[] {
  const lengths: Record<ChecksumAlgorithm, number> = { sha256: 64, md5: 32, 'git-blob-sha1': 40 };
  const out = new Map<ChecksumAlgorithm, Checksum>();
  for (const c of list) {
    const value = c.value.toLowerCase();
    if (!/^[0-9a-f]+$/.test(value) || value.length !== lengths[c.algorithm]) continue;
    if (!out.has(c.algorithm)) out.set(c.algorithm, { ...c, value });
  }
  return [...out.values()];
}
