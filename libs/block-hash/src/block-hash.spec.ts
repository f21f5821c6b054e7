import { BlockHasher, bigIntToHashParts, hashBlocks, hashToBigInt, hashToHex, stringKey32 } from './block-hash';

const tokens = (n: number, start = 0) => Array.from({ length: n }, (_, i) => start + i);

describe('block hashes', () => {
  it('are deterministic, chained and 64-bit', () => {
    const a = hashBlocks(tokens(48), { blockSize: 16 });
    expect(a).toHaveLength(3);
    expect(hashBlocks(tokens(48), { blockSize: 16 })).toEqual(a);
    for (const h of a) expect(h >= 0n && h < 1n << 64n).toBe(true);
    // A prompt that differs only in its first block differs in every block: each hash covers its parent.
    const b = hashBlocks([999, ...tokens(47, 1)], { blockSize: 16 });
    expect(b.filter((h, i) => h === a[i])).toEqual([]);
    // A shared prefix shares hashes; a partial last block has none.
    const c = hashBlocks([...tokens(32), 7, 7, 7], { blockSize: 16 });
    expect(c).toEqual(a.slice(0, 2));
  });

  it('never share blocks across adapters or hash seeds', () => {
    const base = hashBlocks(tokens(16), { blockSize: 16 });
    const loraA = hashBlocks(tokens(16), { blockSize: 16, adapter: 'sql-lora' });
    const loraB = hashBlocks(tokens(16), { blockSize: 16, adapter: 'chat-lora' });
    const seeded = hashBlocks(tokens(16), { blockSize: 16, hashSeed: 1 });
    expect(new Set([base[0], loraA[0], loraB[0], seeded[0]]).size).toBe(4);
    expect(stringKey32('sql-lora')).not.toBe(0);
  });

  it('convert between halves, bigint and 16-digit hex', () => {
    const h = 0xfedcba9876543210n;
    const parts = bigIntToHashParts(h);
    expect(parts).toEqual({ hi: 0xfedcba98, lo: 0x76543210 });
    expect(hashToBigInt(parts.hi, parts.lo)).toBe(h);
    expect(hashToHex(0x1fn)).toBe('000000000000001f');
  });

  it('give routing the same chain cut to 53 bits, as exact numbers', () => {
    const hasher = new BlockHasher(16);
    const prompt = tokens(200, 5);
    const numbers = hasher.hashChainNumbers(prompt);
    expect(numbers).toEqual(hasher.hashChain(prompt).map((h) => Number(h & ((1n << 53n) - 1n))));
    for (const n of numbers) expect(Number.isSafeInteger(n) && n >= 0).toBe(true);
  });

  it('hash in place without allocating a result per block', () => {
    const hasher = new BlockHasher(4);
    hasher.hashBlock(hasher.rootHi, hasher.rootLo, [1, 2, 3, 4, 5, 6, 7, 8], 4, 0);
    const viaOffset = hashToBigInt(hasher.hi, hasher.lo);
    hasher.hashBlock(hasher.rootHi, hasher.rootLo, [5, 6, 7, 8], 0, 0);
    expect(hashToBigInt(hasher.hi, hasher.lo)).toBe(viaOffset);
  });
});
