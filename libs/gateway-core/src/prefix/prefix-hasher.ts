import { BlockHasher } from '@brix/block-hash';
import { type BlockHash } from '@brix/routing';
import { writeSpanText } from '../api/request-body';
import { type TextPiece } from '../api/schemas';

/**
 * Hashes a prompt into chained fixed-size byte blocks: block i's hash covers block i's bytes and block
 * i−1's hash, so two prompts share block i's hash exactly when they share every byte up to the end of
 * block i (up to collisions of a 53-bit hash: ≈10⁻⁴ for a pair among a million blocks). Bytes, not tokens:
 * exact BPE costs ≈100 ms on a 220 KB prompt, hashing well under 1 ms, and the prefix index only needs
 * equality of prefixes. A trailing partial block is not hashed (it cannot be a shared full block yet).
 *
 * The hash is @brix/block-hash's chain (the engine model's, for token blocks) over the block's 32-bit words,
 * cut to 53 bits: plain integer arithmetic, nothing allocated per block. The hashes are the process's own (the
 * words depend on the platform's byte order): the index that compares them is in the same process.
 */
export interface PrefixHasher {
  readonly blockBytes: number;
  /**
   * The prompt's block hashes and its length in UTF-8 bytes. Its text is the pieces in order; a piece that
   * is a span is read from `source` (the raw body it lies in), decoded as the string it stands for.
   */
  hash(pieces: readonly TextPiece[], source?: Buffer): PromptDigest;
}

export interface PromptDigest {
  readonly hashes: BlockHash[];
  readonly bytes: number;
}

export function createPrefixHasher(blockBytes = 128): PrefixHasher {
  if (!Number.isInteger(blockBytes) || blockBytes < 4 || blockBytes % 4 !== 0)
    throw new RangeError(`prefix block size must be a positive multiple of 4 bytes, not ${blockBytes}`);
  const wordsPerBlock = blockBytes >>> 2;
  const chain = new BlockHasher(wordsPerBlock);
  // Prompts are written into one reused buffer (a fresh one per prompt would put every prompt over 128 KB
  // into V8's large-object space, which costs more than the hashing), read as 32-bit words: its own
  // ArrayBuffer, so the word view is aligned.
  let scratch = Buffer.from(new ArrayBuffer(64 * 1024));
  let words = new Int32Array(scratch.buffer);
  return {
    blockBytes,
    hash(pieces: readonly TextPiece[], source?: Buffer): PromptDigest {
      // Room for the worst case, so that each write both encodes and measures: UTF-8 takes at most 3 bytes per
      // UTF-16 unit, and decoding a span never lengthens it.
      let room = 0;
      for (const p of pieces) room += typeof p === 'string' ? p.length * 3 : p.end - p.start;
      if (room > scratch.length) {
        scratch = Buffer.from(new ArrayBuffer(Math.max(room + 3, scratch.length * 2)));
        words = new Int32Array(scratch.buffer, 0, scratch.length >>> 2);
      }
      let size = 0;
      for (const p of pieces) {
        if (typeof p === 'string') size += scratch.write(p, size, 'utf8');
        else if (source) size = writeSpanText(source, p, scratch, size);
        else throw new Error('a prompt piece lies in a body that was not given');
      }
      // The chained block hash the engine model uses for token blocks, here over the prompt's 32-bit words.
      const blocks = Math.floor(size / blockBytes);
      const hashes = chain.hashChainNumbers(words.subarray(0, blocks * wordsPerBlock));
      return { hashes, bytes: size };
    },
  };
}
