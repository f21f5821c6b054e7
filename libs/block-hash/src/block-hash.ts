/**
 * Prefix-cache block hashes: a chain H(parent, block tokens, extra key) over full blocks, as in vLLM
 * (`hash_block_tokens`), where the extra key is the LoRA adapter so adapters never share cached blocks.
 *
 * vLLM hashes a pickled tuple with SHA-256 and publishes the digest's low 64 bits; this model uses a cheap
 * 64-bit hash built from two 32-bit murmur3-style lanes, so the chaining semantics match vLLM's while the
 * values do not (no consumer can recompute vLLM's values from token ids anyway, except with sha256_cbor).
 * Hashes stay as two uint32 halves on the hot path; `bigint` appears only at the API edge.
 *
 * The same chain serves whoever hashes blocks of 32-bit integers: the engine model (token ids), the simulated
 * router (token ids, `hashChainNumbers`) and the gateway (the 32-bit words of a prompt's UTF-8 bytes).
 */

/** A block hash as two unsigned 32-bit halves. */
export interface BlockHashParts {
  hi: number;
  lo: number;
}

// Bound once: a global lookup of `Math` per token is slow where globals sit behind interceptors (jest's vm
// contexts make the hash ~100× slower through `Math.imul`).
const imul = Math.imul;

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;
const C3 = 0x85ebca6b;
const C4 = 0xc2b2ae35;

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = imul(h, C3);
  h ^= h >>> 13;
  h = imul(h, C4);
  h ^= h >>> 16;
  return h;
}

/** A 32-bit key of a string (FNV-1a over UTF-16 code units, then avalanched); 0 is kept for "no adapter". */
export function stringKey32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = imul(h, 0x01000193);
  }
  const k = fmix(h) >>> 0;
  return k === 0 ? 1 : k;
}

// The two halves written side by side and read back as one unsigned 64-bit word: one bigint per hash instead of
// the four that shifting and or-ing make (a simulated gateway converts every prompt block of every request).
const halves = new Uint32Array(2);
const word = new BigUint64Array(halves.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const LO = LITTLE_ENDIAN ? 0 : 1;
const HI = 1 - LO;

/** The 64-bit hash whose halves are `hi` and `lo` (unsigned or int32 bit patterns). */
export function hashToBigInt(hi: number, lo: number): bigint {
  halves[HI] = hi;
  halves[LO] = lo;
  return word[0]!;
}

export function bigIntToHashParts(h: bigint): BlockHashParts {
  return { hi: Number((h >> 32n) & 0xffffffffn), lo: Number(h & 0xffffffffn) };
}

/** Lowercase hex, 16 digits: the form block hashes take on the Brix bus (contracts `BlockHash`). */
export function hashToHex(h: bigint): string {
  return h.toString(16).padStart(16, '0');
}

/**
 * Computes chained block hashes. One instance per engine; stateless apart from its root, so safe to share.
 * `hashSeed` plays the role of vLLM's NONE_HASH (the parent of the first block).
 */
export class BlockHasher {
  readonly rootHi: number;
  readonly rootLo: number;
  /** Output of the last {@link hashBlock} call (no allocation per block). */
  hi = 0;
  lo = 0;

  constructor(
    readonly blockSize: number,
    hashSeed = 0,
  ) {
    this.rootHi = fmix(imul(hashSeed | 0, C1) ^ 0x243f6a88) >>> 0;
    this.rootLo = fmix(imul((hashSeed / 4294967296) | 0, C2) ^ 0x85a308d3 ^ this.rootHi) >>> 0;
  }

  /**
   * Hashes the block tokens[start, start + blockSize) under the given parent and extra key (0 = base model),
   * leaving the result in `this.hi` / `this.lo`.
   */
  hashBlock(parentHi: number, parentLo: number, tokens: ArrayLike<number>, start: number, extraKey: number): void {
    let h1 = (parentLo ^ extraKey) | 0;
    let h2 = (parentHi ^ imul(extraKey, C3) ^ 0x9e3779b9) | 0;
    const end = start + this.blockSize;
    for (let i = start; i < end; i++) {
      const t = tokens[i]! | 0;
      let k1 = imul(t, C1);
      k1 = rotl(k1, 15);
      k1 = imul(k1, C2);
      h1 ^= k1;
      h1 = rotl(h1, 13);
      h1 = (imul(h1, 5) + 0xe6546b64) | 0;
      let k2 = imul(t ^ 0x7f4a7c15, C3);
      k2 = rotl(k2, 17);
      k2 = imul(k2, C4);
      h2 ^= k2;
      h2 = rotl(h2, 15);
      h2 = (imul(h2, 5) + 0x38495ab5) | 0;
    }
    h1 ^= this.blockSize;
    h2 ^= this.blockSize;
    h1 = (h1 + h2) | 0;
    h2 = (h2 + h1) | 0;
    h1 = fmix(h1);
    h2 = fmix(h2);
    h1 = (h1 + h2) | 0;
    h2 = (h2 + h1) | 0;
    this.hi = h2 >>> 0;
    this.lo = h1 >>> 0;
  }

  /** Hashes of every full block of `tokens` under this hasher's root and `extraKey`, first block first. */
  hashChain(tokens: ArrayLike<number>, extraKey = 0): bigint[] {
    return this.chain(tokens, extraKey, hashToBigInt);
  }

  /**
   * {@link hashChain} with each hash cut to its low 53 bits, as a number (exact in a double): for tables keyed
   * by number, such as a router's prefix index, which only compare hashes.
   */
  hashChainNumbers(tokens: ArrayLike<number>, extraKey = 0): number[] {
    return this.chain(tokens, extraKey, (hi, lo) => (hi & 0x1fffff) * 0x100000000 + lo);
  }

  private chain<T>(tokens: ArrayLike<number>, extraKey: number, value: (hi: number, lo: number) => T): T[] {
    const B = this.blockSize;
    const out = new Array<T>(Math.floor(tokens.length / B));
    let hi = this.rootHi;
    let lo = this.rootLo;
    for (let j = 0; j < out.length; j++) {
      this.hashBlock(hi, lo, tokens, j * B, extraKey);
      hi = this.hi;
      lo = this.lo;
      out[j] = value(hi, lo);
    }
    return out;
  }
}

/**
 * Hashes of every full block of `tokens`, as the engine computes them (same `blockSize`, `hashSeed` and
 * adapter), for callers outside the engine: a simulated router matching a request against KV events, tests.
 */
export function hashBlocks(
  tokens: ArrayLike<number>,
  options: { blockSize: number; hashSeed?: number; adapter?: string | null },
): bigint[] {
  const hasher = new BlockHasher(options.blockSize, options.hashSeed ?? 0);
  return hasher.hashChain(tokens, options.adapter ? stringKey32(options.adapter) : 0);
}
