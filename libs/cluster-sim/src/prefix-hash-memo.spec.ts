import { Rng } from '@brix/clock';
import { BlockHasher, hashBlocks } from '@brix/engine-model';
import { PrefixHashMemo } from './prefix-hash-memo';

/** Prompts that share prefixes in every way a memo could get wrong: whole documents, cuts inside a block,
 * blocks that differ only after their first token, prompts shorter than a block, exact repeats. */
function prompts(seed: number, count: number): number[][] {
  const rng = new Rng(seed);
  const docs = Array.from({ length: 4 }, (_, d) => Array.from({ length: 40 + d * 13 }, () => rng.int(0, 50)));
  const out: number[][] = [];
  for (let i = 0; i < count; i++) {
    const doc = docs[rng.int(0, docs.length - 1)]!;
    const keep = rng.next() < 0.3 ? rng.int(0, doc.length) : doc.length;
    const tail = Array.from({ length: rng.int(0, 30) }, () => rng.int(0, 50));
    // same first token as the document's next block, different after it
    if (rng.next() < 0.2 && keep < doc.length) tail.unshift(doc[keep]!, 999);
    out.push([...doc.slice(0, keep), ...tail]);
    if (rng.next() < 0.1) out.push([...out.at(-1)!]);
  }
  return out;
}

describe('PrefixHashMemo', () => {
  it.each([
    { name: 'roomy', maxNodes: 1 << 16 },
    // starts over every few prompts: the answers must not depend on what the memo holds
    { name: 'tiny', maxNodes: 3 },
  ])('gives exactly hashBlocks’ hashes for prompts sharing prefixes ($name memo)', ({ maxNodes }) => {
    const memo = new PrefixHashMemo(8, maxNodes);
    for (const p of prompts(3, 400)) expect(memo.hashes(p)).toEqual(hashBlocks(p, { blockSize: 8 }));
  });

  it('learns a shared prefix one block per prompt, then hashes only what follows it', () => {
    const memo = new PrefixHashMemo(4);
    const doc = [1, 2, 3, 4, 5, 6, 7, 8];
    const hashed = jest.spyOn(BlockHasher.prototype, 'hashBlock');
    // the first prompt leaves block 0 cold; the second makes it hot and block 1 cold; the third makes block 1 hot
    for (const last of [9, 10, 11]) memo.hashes([...doc, last, 0, 0, 0]);
    const prompt = [...doc, 12, 13, 14, 15];
    const expected = hashBlocks(prompt, { blockSize: 4 });
    hashed.mockClear();
    expect(memo.hashes(prompt)).toEqual(expected);
    // only block 2 was hashed
    expect(hashed).toHaveBeenCalledTimes(1);
    hashed.mockRestore();
  });
});
