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
 * The hash runs in plain 32-bit integer arithmetic over the block's 32-bit words, two lanes with different
 * round functions (murmur3's and xxh32's), each lane seeded by the previous block's. The hashes are the
 * process's own (they depend on the platform's byte order): the index that compares them is in the same
 * process.
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

// Lane seeds ("brix" and the golden ratio) and the two round functions' constants.
const SEED_A = 0x62726978;
const SEED_B = 0x9e3779b9 | 0;
const M1 = 0xcc9e2d51 | 0;
const M2 = 0x1b873593;
const X1 = 0x9e3779b1 | 0;
const X2 = 0x85ebca77 | 0;
const X3 = 0xc2b2ae3d | 0;

export function createPrefixHasher(blockBytes = 128): PrefixHasher {
  if (!Number.isInteger(blockBytes) || blockBytes < 4 || blockBytes % 4 !== 0)
    throw new RangeError(`prefix block size must be a positive multiple of 4 bytes, not ${blockBytes}`);
  const wordsPerBlock = blockBytes >>> 2;
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
      const blocks = Math.floor(size / blockBytes);
      const hashes = new Array<BlockHash>(blocks);
      let a = SEED_A;
      let b = SEED_B;
      for (let i = 0, w = 0; i < blocks; i++) {
        for (const end = w + wordsPerBlock; w < end; w++) {
          const k = words[w]!;
          // murmur3_32 round
          let m = Math.imul(k, M1);
          m = (m << 15) | (m >>> 17);
          a ^= Math.imul(m, M2);
          a = (a << 13) | (a >>> 19);
          a = (Math.imul(a, 5) + 0xe6546b64) | 0;
          // xxh32 round
          b = (b + Math.imul(k, X2)) | 0;
          b = (b << 13) | (b >>> 19);
          b = Math.imul(b, X1);
        }
        // Finalise each lane (murmur3's fmix32, xxh32's avalanche), each mixed into the other.
        a ^= blockBytes;
        a = (a + b) | 0;
        a ^= a >>> 16;
        a = Math.imul(a, 0x85ebca6b);
        a ^= a >>> 13;
        a = Math.imul(a, 0xc2b2ae35);
        a ^= a >>> 16;
        b = (b + a) | 0;
        b ^= b >>> 15;
        b = Math.imul(b, X2);
        b ^= b >>> 13;
        b = Math.imul(b, X3);
        b ^= b >>> 16;
        // 53 bits: exact as a double.
        hashes[i] = (b & 0x1fffff) * 0x100000000 + (a >>> 0);
      }
      return { hashes, bytes: size };
    },
  };
}
