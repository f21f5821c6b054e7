import { BlockPool } from './block-pool';
import { KvEventRecorder, toContractKvEvent } from './events';

describe('BlockPool', () => {
  const newPool = (n: number) => {
    const events = new KvEventRecorder(true);
    return { pool: new BlockPool(n, events), events };
  };

  it('allocates from the front of the free queue and reports usage', () => {
    const { pool } = newPool(4);
    expect(pool.freeQueue()).toEqual([0, 1, 2, 3]);
    expect([pool.allocate(), pool.allocate()]).toEqual([0, 1]);
    // 2 of 4 blocks held
    expect(pool.usage()).toBe(0.5);
    expect(pool.numFreeBlocks).toBe(2);
  });

  it('evicts the least recently freed cached block first, and a request’s tail before its head', () => {
    const { pool, events } = newPool(6);
    const a = [pool.allocate(), pool.allocate(), pool.allocate()]; // blocks 0,1,2: request A's head → tail
    const b = [pool.allocate(), pool.allocate()]; // blocks 3,4: request B
    a.forEach((blk, i) => pool.cacheBlock(blk, 0, 100 + i));
    b.forEach((blk, i) => pool.cacheBlock(blk, 0, 200 + i));
    // A finishes first, freeing tail-first as vLLM does; then B.
    pool.freeBlocks(a, true);
    pool.freeBlocks(b, true);
    // Never-used block 5 goes first, then A's tail (2), middle (1), head (0), then B's tail (4) and head (3).
    expect(pool.freeQueue()).toEqual([5, 2, 1, 0, 4, 3]);
    events.take();
    const taken = [pool.allocate(), pool.allocate(), pool.allocate()];
    expect(taken).toEqual([5, 2, 1]);
    // Evicting a cached block drops it from the cache and emits one BlockRemoved per block.
    expect(pool.lookup(0, 102)).toBe(-1);
    expect(pool.lookup(0, 100)).toBe(0);
    expect(events.take()).toEqual([
      { type: 'BlockRemoved', blockHashes: [102n], medium: 'GPU' },
      { type: 'BlockRemoved', blockHashes: [101n], medium: 'GPU' },
    ]);
  });

  it('takes a cache hit on a free block out of the free queue; on a held block it adds a reference', () => {
    const { pool } = newPool(3);
    const blk = pool.allocate();
    pool.cacheBlock(blk, 7, 7);
    pool.touch(blk);
    expect(pool.refs(blk)).toBe(2);
    pool.freeBlocks([blk, blk], false);
    expect(pool.freeQueue()).toEqual([1, 2, 0]);
    pool.touch(pool.lookup(7, 7));
    expect(pool.freeQueue()).toEqual([1, 2]);
    expect(pool.refs(blk)).toBe(1);
  });

  it('keeps one block per hash: a second block with a cached hash stays uncached', () => {
    const { pool } = newPool(2);
    const [x, y] = [pool.allocate(), pool.allocate()];
    expect(pool.cacheBlock(x, 1, 2)).toBe(true);
    expect(pool.cacheBlock(y, 1, 2)).toBe(false);
    expect(pool.isCached(y)).toBe(false);
    expect(pool.lookup(1, 2)).toBe(x);
  });

  it('finds every entry after many inserts and evictions (no tombstones left behind)', () => {
    const { pool } = newPool(64);
    const live = new Map<number, number>();
    let key = 1;
    for (let round = 0; round < 200; round++) {
      const blk = pool.allocate();
      for (const [k, b] of live) if (b === blk) live.delete(k);
      pool.cacheBlock(blk, key * 2654435761, key);
      live.set(key, blk);
      key++;
      pool.freeBlocks([blk], false);
    }
    expect(pool.numCachedBlocks).toBe(live.size);
    for (const [k, b] of live) expect(pool.lookup(k * 2654435761, k)).toBe(b);
  });

  it('looks up the block after a chain’s previous block through its hint, and falls back to the table when the hint is stale', () => {
    const pool = new BlockPool(4, new KvEventRecorder(false));
    const [a, b, c] = [pool.allocate(), pool.allocate(), pool.allocate()];
    pool.cacheBlock(a, 0, 1);
    pool.cacheBlock(b, 0, 2);
    expect(pool.lookupAfter(-1, 0, 1)).toBe(a);
    // the first lookup after `a` goes through the table and leaves the hint a → b
    expect(pool.lookupAfter(a, 0, 2)).toBe(b);
    expect(pool.lookupAfter(a, 0, 2)).toBe(b);
    // b's content evicted and c now holds that hash: the hint (b) fails its check, the table answers c
    pool.freeBlocks([b], false);
    pool.freeBlocks([pool.allocate()], false); // takes block 3, the queue's front; b stays cached
    pool.allocate(); // now b is taken again: evicted
    expect(pool.isCached(b)).toBe(false);
    pool.cacheBlock(c, 0, 2);
    expect(pool.lookupAfter(a, 0, 2)).toBe(c);
    // a hash nobody holds is not found, whatever the hint
    expect(pool.lookupAfter(a, 0, 9)).toBe(-1);
  });

  it('counts a block cached with a deferred hash as cached; lookups find it only once its owner resolves it', () => {
    const pool = new BlockPool(3, new KvEventRecorder(false));
    const blk = pool.allocate();
    // full while held: counted at once, marked when its request frees it
    pool.countDeferred(1);
    expect(pool.numCachedBlocks).toBe(1);
    pool.freeBlocks([blk], true, 1, 0, 1, 41);
    expect([pool.numCachedBlocks, pool.isCached(blk), pool.lookup(5, 6)]).toEqual([1, true, -1]);
    // another request's tag does not resolve it
    expect(pool.resolveDeferred(blk, 42, 5, 6)).toBe(false);
    expect(pool.resolveDeferred(blk, 41, 5, 6)).toBe(true);
    expect([pool.numCachedBlocks, pool.lookup(5, 6)]).toEqual([1, blk]);
    // resolved once: a second call changes nothing
    expect(pool.resolveDeferred(blk, 41, 5, 6)).toBe(false);
  });

  it('evicts a deferred block like any cached block; its owner cannot resolve it afterwards', () => {
    const pool = new BlockPool(1, new KvEventRecorder(false));
    const blk = pool.allocate();
    pool.countDeferred(1);
    pool.freeBlocks([blk], false, 1, 0, 1, 1);
    // taken again (by the same block id for another request): the deferred content is evicted
    expect(pool.allocate()).toBe(blk);
    expect(pool.numCachedBlocks).toBe(0);
    pool.countDeferred(1);
    pool.freeBlocks([blk], false, 1, 0, 1, 2);
    expect(pool.resolveDeferred(blk, 1, 5, 6)).toBe(false);
    expect(pool.lookup(5, 6)).toBe(-1);
    expect(pool.reset()).toBe(true);
    expect([pool.numCachedBlocks, pool.resolveDeferred(blk, 2, 5, 6)]).toEqual([0, false]);
  });

  it('refuses deferred hashes when KV events are recorded (each event carries its hashes)', () => {
    const { pool } = newPool(1);
    expect(() => pool.countDeferred(1)).toThrow(/KV events/);
  });

  it('resets the cache only when no block is held, emitting AllBlocksCleared', () => {
    const { pool, events } = newPool(2);
    const blk = pool.allocate();
    pool.cacheBlock(blk, 0, 1);
    expect(pool.reset()).toBe(false);
    pool.freeBlocks([blk], false);
    expect(pool.reset()).toBe(true);
    expect(pool.lookup(0, 1)).toBe(-1);
    expect(events.take()).toEqual([{ type: 'AllBlocksCleared' }]);
  });

  it('maps events to the Brix bus shape with hex hashes', () => {
    expect(
      toContractKvEvent({
        type: 'BlockStored',
        blockHashes: [255n],
        parentBlockHash: null,
        tokenIds: [1, 2],
        blockSize: 2,
        loraId: null,
        medium: 'GPU',
        loraName: null,
      }),
    ).toEqual({
      type: 'BlockStored',
      blockHashes: ['00000000000000ff'],
      parentBlockHash: null,
      tokenIds: [1, 2],
      blockSize: 2,
      loraId: null,
      medium: 'GPU',
      loraName: null,
    });
  });
});
