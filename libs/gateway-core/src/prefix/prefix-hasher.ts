import xxhash from 'xxhash-wasm';
import { type BlockHash } from '@brix/routing';

/**
 * Hashes a prompt into chained fixed-size byte blocks: block i's hash is xxhash64(block bytes) seeded
 * with block i−1's hash, so two prompts share block i's hash exactly when they share every byte up to
 * the end of block i. Bytes, not tokens: exact BPE costs ≈100 ms on a 220 KB prompt, hashing ≈1 ms, and
 * the prefix index only needs equality of prefixes. A trailing partial block is not hashed (it cannot
 * be a shared full block yet).
 */
export interface PrefixHasher {
  readonly blockBytes: number;
  hash(text: string): BlockHash[];
}

const SEED = 0x62726978n; // "brix"

export async function createPrefixHasher(blockBytes = 128): Promise<PrefixHasher> {
  const { h64Raw } = await xxhash();
  // Prompts are encoded into one reused buffer: a fresh Buffer per prompt would put every prompt over
  // 128 KB into V8's large-object space, and allocating there costs more than the hashing.
  let scratch = Buffer.allocUnsafe(64 * 1024);
  return {
    blockBytes,
    hash(text: string): BlockHash[] {
      // UTF-8 takes at most 3 bytes per UTF-16 unit: with room for that, one write both encodes and measures.
      if (text.length * 3 > scratch.length) scratch = Buffer.allocUnsafe(Math.max(text.length * 3, scratch.length * 2));
      const size = scratch.write(text, 0, 'utf8');
      const blocks = Math.floor(size / blockBytes);
      const out = new Array<BlockHash>(blocks);
      let previous = SEED;
      for (let i = 0; i < blocks; i++) {
        previous = h64Raw(scratch.subarray(i * blockBytes, (i + 1) * blockBytes), previous);
        out[i] = previous;
      }
      return out;
    },
  };
}
