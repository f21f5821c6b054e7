import { Rng } from '@brix/clock';

/**
 * A deterministic stand-in for a pooled embedding: a unit-length vector seeded by the prompt's token ids, so
 * the same input always gives the same vector and different inputs give (nearly) orthogonal ones. It carries
 * no meaning; it has the shape and norm of a normalized embedding.
 */
export function embeddingVector(tokenIds: readonly number[], size: number, seed: number): Float32Array {
  // FNV-1a over the ids, mixed with the engine seed.
  let h = 0x811c9dc5 ^ seed;
  for (const id of tokenIds) {
    h ^= id;
    h = Math.imul(h, 0x01000193);
  }
  const rng = new Rng(h >>> 0);
  const v = new Float32Array(size);
  let norm = 0;
  for (let i = 0; i < size; i++) {
    const x = rng.normal();
    v[i] = x;
    norm += x * x;
  }
  const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
  for (let i = 0; i < size; i++) v[i] = v[i]! * scale;
  return v;
}

/** vLLM's `encoding_format: "base64"`: the float32 array's bytes in the machine's (little-endian) order, base64. */
export function embeddingBase64(v: Float32Array): string {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
}
