import { Rng } from '@brix/clock';
import { blocks, chain, engine, request } from '../testing/fixtures';
import { type BlockHash } from '../types';
import { PrefixIndex } from './prefix-index';

const A = chain(blocks('a', 10));
const B = chain(blocks('b', 10));
const C = chain(blocks('c', 10));
// X+Y and X+Z share their first 5 blocks.
const XY = chain([...blocks('x', 5), ...blocks('y', 5)]);
const XZ = chain([...blocks('x', 5), ...blocks('z', 5)]);

const depths = (index: PrefixIndex, hashes: BlockHash[], ids: string[]) => [...index.match(hashes, ids)];

describe('PrefixIndex', () => {
  it('matches the deepest prefix each engine served, block by block', () => {
    const index = new PrefixIndex(1000);
    index.record(XY, 'e1');
    index.record(XZ, 'e2');
    // e1 served all of XY; e2 shares only X (5 blocks) with XY; e3 never served anything.
    expect(depths(index, XY, ['e1', 'e2', 'e3'])).toEqual([10, 5, 0]);
    expect(depths(index, XZ, ['e1', 'e2', 'e3'])).toEqual([5, 10, 0]);
    // A longer prompt matches as far as what was served: XY + 3 blocks of its own → e1 still 10.
    const longer = chain([...blocks('x', 5), ...blocks('y', 5), ...blocks('q', 3)]);
    expect(depths(index, longer, ['e1', 'e2'])).toEqual([10, 5]);
    // A shorter one is matched in full: X's first 3 blocks.
    expect(depths(index, XY.slice(0, 3), ['e1', 'e2'])).toEqual([3, 3]);
    // Nothing in common, and no hashes at all.
    expect(depths(index, A, ['e1', 'e2'])).toEqual([0, 0]);
    expect(depths(index, [], ['e1'])).toEqual([0]);
    // X and Y/Z stored once each: 5 + 5 + 5 blocks.
    expect(index.size).toBe(15);
  });

  it('keeps membership exact when a prompt ends inside a stored edge', () => {
    const index = new PrefixIndex(1000);
    index.record(A, 'e1');
    index.record(A.slice(0, 4), 'e2');
    // e2 served only A's first 4 blocks, so it matches 4 of A, not 10.
    expect(depths(index, A, ['e1', 'e2'])).toEqual([10, 4]);
    expect(index.size).toBe(10);
  });

  it('evicts the least recently routed blocks first, trimming prompts from their tails', () => {
    const index = new PrefixIndex(15);
    index.record(A, 'e1');
    index.record(B, 'e2');
    // 20 blocks > 15: A is older, so its last 5 blocks go; its first 5 still match.
    expect(index.size).toBe(15);
    expect(depths(index, A, ['e1'])).toEqual([5]);
    expect(depths(index, B, ['e2'])).toEqual([10]);
  });

  it('refreshes a prompt when it is routed again, so the other one is evicted', () => {
    const index = new PrefixIndex(20);
    index.record(A, 'e1');
    index.record(B, 'e2');
    index.record(A, 'e1');
    index.record(C, 'e3');
    // 30 blocks > 20: B is now the oldest and its 10 blocks go whole.
    expect(index.size).toBe(20);
    expect(depths(index, A, ['e1'])).toEqual([10]);
    expect(depths(index, B, ['e2'])).toEqual([0]);
    expect(depths(index, C, ['e3'])).toEqual([10]);
  });

  it('evicts continuations before their shared prefix', () => {
    const index = new PrefixIndex(12);
    index.record(XY, 'e1');
    index.record(XZ, 'e2');
    // 15 blocks > 12: Y is the oldest leaf (X was refreshed by XZ), so Y loses 3 of its 5 blocks; X stays.
    expect(index.size).toBe(12);
    expect(depths(index, XY, ['e1', 'e2'])).toEqual([7, 5]);
    expect(depths(index, XZ, ['e1', 'e2'])).toEqual([5, 10]);
  });

  it('forgets a removed engine everywhere and frees what only it held', () => {
    const index = new PrefixIndex(1000);
    index.record(XY, 'e1');
    index.record(XZ, 'e2');
    index.forgetEngine('e2');
    // Z (5 blocks) was e2's alone; X is still e1's.
    expect(index.size).toBe(10);
    expect(depths(index, XZ, ['e1', 'e2'])).toEqual([5, 0]);
    expect(index.engines).toBe(1);
    // A new engine reuses the freed slot without inheriting anything.
    index.record(A, 'e9');
    expect(depths(index, XZ, ['e9'])).toEqual([0]);
    expect(depths(index, A, ['e9', 'e1'])).toEqual([10, 0]);
    // Forgetting an unknown engine is a no-op.
    index.forgetEngine('nobody');
    expect(index.size).toBe(20);
  });

  it('handles more engines than one 32-bit word of slots', () => {
    const index = new PrefixIndex(1000);
    const ids = Array.from({ length: 70 }, (_, i) => `e${i}`);
    ids.forEach((id, i) => index.record(i % 2 === 0 ? A : A.slice(0, 5), id));
    // Even engines served all 10 blocks, odd ones the first 5.
    expect(depths(index, A, ids)).toEqual(ids.map((_, i) => (i % 2 === 0 ? 10 : 5)));
    index.forgetEngine('e64');
    expect(depths(index, A, ['e64', 'e66'])).toEqual([0, 10]);
  });

  it('learns through the feedback hooks', () => {
    const index = new PrefixIndex(1000);
    index.onRouted(request({ prefixHashes: A }), engine('e1'));
    expect(depths(index, A, ['e1'])).toEqual([10]);
    index.onEngineRemoved('e1');
    expect(depths(index, A, ['e1'])).toEqual([0]);
    expect(index.size).toBe(0);
  });

  it('agrees with a brute-force model on random prompts sharing random prefixes', () => {
    const rng = new Rng(11);
    const index = new PrefixIndex(1_000_000);
    const served = new Map<string, string[][]>();
    const engines = Array.from({ length: 12 }, (_, i) => `e${i}`);
    // Prompts branch from a few stems at random points, so edges split at many places.
    const randomPrompt = (): string[] => {
      const stem = `s${rng.int(0, 3)}`;
      const shared = rng.int(0, 30);
      const own = rng.int(0, 20);
      const branch = `b${rng.int(0, 5)}`;
      return [...blocks(stem, shared), ...blocks(`${stem}${branch}`, own)];
    };
    for (let i = 0; i < 400; i++) {
      const labels = randomPrompt();
      const id = engines[rng.int(0, engines.length - 1)]!;
      index.record(chain(labels), id);
      served.set(id, [...(served.get(id) ?? []), labels]);
    }
    const common = (a: string[], b: string[]) => {
      let k = 0;
      while (k < a.length && k < b.length && a[k] === b[k]) k++;
      return k;
    };
    for (let q = 0; q < 300; q++) {
      const labels = randomPrompt();
      const expected = engines.map((id) => Math.max(0, ...(served.get(id) ?? []).map((p) => common(p, labels))));
      expect(depths(index, chain(labels), engines)).toEqual(expected);
    }
  });

  it('rejects a bound below one block', () => {
    expect(() => new PrefixIndex(0)).toThrow(RangeError);
  });
});
