import { type Rng } from '@brix/clock';
import { type LengthDistribution, sampleLength } from './lengths';

/**
 * Fills `out[from, to)` with token ids in [0, vocabSize) from a xorshift32 stream started at `seed`. The same
 * seed gives the same tokens; different seeds give unrelated streams, so two prompts share a prefix only where
 * a workload puts the same sequence on purpose. About 2 ns a token — prompts of hours of traffic cost little.
 */
export function fillTokens(out: Int32Array, from: number, to: number, seed: number, vocabSize: number): void {
  // xorshift32 must not start at 0.
  let x = seed | 0 || 0x6b43a9b5;
  for (let i = from; i < to; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    // Scaling (not a modulo) maps the 32-bit state onto [0, vocabSize) without favouring low ids; `| 0` truncates
    // (the value is below 2^31) without a global `Math` lookup per token.
    out[i] = (((x >>> 0) / 4294967296) * vocabSize) | 0;
  }
}

/**
 * Hands out prompt arrays as views of large shared chunks: an `Int32Array` of its own gives every prompt an
 * ArrayBuffer, an external allocation the garbage collector tracks one by one (hours of traffic make millions).
 * A chunk is freed once no prompt cut from it is referenced, so it holds memory as long as its longest-lived prompt.
 */
export class TokenArena {
  private chunk: Int32Array;
  private used = 0;

  constructor(private readonly chunkTokens = 1 << 16) {
    this.chunk = new Int32Array(chunkTokens);
  }

  /** A zeroed array of `n` tokens (its own buffer when `n` is over a quarter of a chunk). */
  take(n: number): Int32Array {
    if (n > this.chunkTokens >> 2) return new Int32Array(n);
    if (this.used + n > this.chunk.length) {
      this.chunk = new Int32Array(this.chunkTokens);
      this.used = 0;
    }
    const view = this.chunk.subarray(this.used, this.used + n);
    this.used += n;
    return view;
  }
}

/** A fresh seed for {@link fillTokens}, drawn from `rng`. */
export function tokenSeed(rng: Rng): number {
  return Math.floor(rng.next() * 4294967296) | 0;
}

/**
 * A seeded vocabulary's shared documents: system prompts, few-shot examples, long contexts that many requests
 * start with. `pick` chooses one uniformly, or Zipf-skewed (document k with weight 1 / (k+1)^s) when
 * `zipf` = s > 0, so a few hot prefixes dominate as in multi-tenant traffic.
 */
export class PrefixPool {
  readonly documents: readonly Int32Array[];
  private readonly cdf: Float64Array | null;

  constructor(rng: Rng, options: { documents: number; tokens: LengthDistribution; vocabSize: number; zipf?: number }) {
    const docs: Int32Array[] = [];
    for (let k = 0; k < options.documents; k++) {
      const doc = new Int32Array(sampleLength(options.tokens, rng));
      fillTokens(doc, 0, doc.length, tokenSeed(rng), options.vocabSize);
      docs.push(doc);
    }
    this.documents = docs;
    const s = options.zipf ?? 0;
    if (s > 0) {
      const cdf = new Float64Array(docs.length);
      let sum = 0;
      for (let k = 0; k < docs.length; k++) cdf[k] = sum += 1 / Math.pow(k + 1, s);
      for (let k = 0; k < docs.length; k++) cdf[k] = cdf[k]! / sum;
      this.cdf = cdf;
    } else {
      this.cdf = null;
    }
  }

  /** Index of a document drawn with one value of `rng`. */
  pickIndex(rng: Rng): number {
    const u = rng.next();
    const cdf = this.cdf;
    if (!cdf) return Math.floor(u * this.documents.length);
    let lo = 0;
    let hi = cdf.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid]! > u) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}
