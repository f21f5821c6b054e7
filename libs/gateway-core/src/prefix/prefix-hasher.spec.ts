import { createPrefixHasher } from './prefix-hasher';

describe('prefix hasher', () => {
  it('hashes only full blocks', async () => {
    const h = await createPrefixHasher(4);
    expect(h.hash('abc')).toHaveLength(0);
    expect(h.hash('abcdefgh')).toHaveLength(2);
    expect(h.hash('abcdefghi')).toHaveLength(2);
  });

  it('gives equal hashes exactly for equal prefixes, and chains them', async () => {
    const h = await createPrefixHasher(4);
    const a = h.hash('SYS1SYS2user-a..');
    const b = h.hash('SYS1SYS2user-b..');
    const c = h.hash('SYS9SYS2user-a..');
    expect(a.slice(0, 3)).toEqual(b.slice(0, 3)); // "SYS1", "SYS2", "user" are shared
    expect(a[3]).not.toEqual(b[3]); // "-a.." vs "-b.." differ in block 4
    expect(c[0]).not.toEqual(a[0]);
    // Block 2 holds the same bytes "SYS2" in a and c, but its hash is chained to a different block 1.
    expect(c[1]).not.toEqual(a[1]);
  });

  it('counts bytes, not characters, for multi-byte text', async () => {
    const h = await createPrefixHasher(4);
    expect(h.hash('éé')).toHaveLength(1); // 2 characters, 4 UTF-8 bytes
  });

  it('hashes a long prompt after a short one (and back) as a fresh hasher does', async () => {
    const reused = await createPrefixHasher(128);
    const long = 'x'.repeat(100_000) + 'é'.repeat(50_000) + 'tail';
    reused.hash('short prompt, shorter than the scratch buffer, '.repeat(20));
    const afterShort = reused.hash(long);
    const fresh = await createPrefixHasher(128);
    expect(afterShort).toEqual(fresh.hash(long));
    expect(afterShort).toHaveLength(Math.floor(Buffer.byteLength(long) / 128));
    // A shorter prompt after the long one sees none of the long one's leftover bytes.
    expect(reused.hash('y'.repeat(300))).toEqual(fresh.hash('y'.repeat(300)));
  });
});
