import { createPrefixHasher, type PrefixHasher } from './prefix-hasher';

/** Hashes of one string prompt. */
const of = (h: PrefixHasher, text: string) => h.hash([text]).hashes;

describe('prefix hasher', () => {
  it('hashes only full blocks', async () => {
    const h = createPrefixHasher(4);
    expect(of(h, 'abc')).toHaveLength(0);
    expect(of(h, 'abcdefgh')).toHaveLength(2);
    expect(of(h, 'abcdefghi')).toHaveLength(2);
  });

  it('gives equal hashes exactly for equal prefixes, and chains them', async () => {
    const h = createPrefixHasher(4);
    const a = of(h, 'SYS1SYS2user-a..');
    const b = of(h, 'SYS1SYS2user-b..');
    const c = of(h, 'SYS9SYS2user-a..');
    expect(a.slice(0, 3)).toEqual(b.slice(0, 3)); // "SYS1", "SYS2", "user" are shared
    expect(a[3]).not.toEqual(b[3]); // "-a.." vs "-b.." differ in block 4
    expect(c[0]).not.toEqual(a[0]);
    // Block 2 holds the same bytes "SYS2" in a and c, but its hash is chained to a different block 1.
    expect(c[1]).not.toEqual(a[1]);
  });

  it('counts bytes, not characters, for multi-byte text', async () => {
    const h = createPrefixHasher(4);
    expect(of(h, 'éé')).toHaveLength(1); // 2 characters, 4 UTF-8 bytes
  });

  it('hashes a long prompt after a short one (and back) as a fresh hasher does', async () => {
    const reused = createPrefixHasher(128);
    const long = 'x'.repeat(100_000) + 'é'.repeat(50_000) + 'tail';
    of(reused, 'short prompt, shorter than the scratch buffer, '.repeat(20));
    const afterShort = of(reused, long);
    const fresh = createPrefixHasher(128);
    expect(afterShort).toEqual(of(fresh, long));
    expect(afterShort).toHaveLength(Math.floor(Buffer.byteLength(long) / 128));
    // A shorter prompt after the long one sees none of the long one's leftover bytes.
    expect(of(reused, 'y'.repeat(300))).toEqual(of(fresh, 'y'.repeat(300)));
  });

  it('hashes pieces as the text they make together, spans read from their body', async () => {
    const h = createPrefixHasher(4);
    const body = Buffer.from('{"prompt":"SYS2\\nuser"}');
    const span = { start: 11, end: 21, escaped: true }; // SYS2\nuser: 10 bytes, 9 once decoded
    const digest = h.hash(['SYS1', span, '-a..'], body);
    expect(digest.bytes).toBe(17);
    expect(digest.hashes).toEqual(of(h, 'SYS1SYS2\nuser-a..'));
    expect(() => h.hash([span])).toThrow('not given');
  });

  it("changes a block's hash, and every later one, when any single bit of the block changes", () => {
    const h = createPrefixHasher(128);
    const text = 'The quick brown fox jumps over the lazy dog; '.repeat(9).slice(0, 384);
    const base = of(h, text);
    const bytes = Buffer.from(text);
    for (let bit = 0; bit < 7 * 128; bit++) {
      // Bits of the middle block (ASCII stays ASCII: the top bit of each byte is left alone).
      const byte = 128 + Math.floor(bit / 7);
      const flipped = Buffer.from(bytes);
      flipped[byte]! ^= 1 << bit % 7;
      const hashes = of(h, flipped.toString('latin1'));
      expect(hashes[0]).toBe(base[0]);
      expect(hashes[1]).not.toBe(base[1]);
      expect(hashes[2]).not.toBe(base[2]);
    }
  });

  it('gives 200,000 distinct blocks 200,000 distinct hashes', () => {
    const h = createPrefixHasher(16);
    const seen = new Set<number>();
    for (let i = 0; i < 200_000; i++) seen.add(of(h, `block ${i.toString(36).padStart(10, '.')}`)[0]!); // 16 bytes: one block each
    expect(seen.size).toBe(200_000);
  });

  it.each([0, 2, 130])('refuses a block size of %i bytes (not a positive multiple of 4)', (bytes) => {
    expect(() => createPrefixHasher(bytes)).toThrow(RangeError);
  });
});
