import { type KvEventRecorder } from './events';

// Per-block record layout in BlockPool.blocks (int32 fields; 8 per block = 32 bytes, two blocks per cache line).
const STRIDE = 8;
const REF = 0;
const PREV = 1;
const NEXT = 2;
const FLAGS = 3;
const HASH_HI = 4;
const HASH_LO = 5;
/** Owner tag of a block cached with a deferred hash (see {@link BlockPool.countDeferred}). */
const OWNER = 6;
/** The block found after this one in the last chain lookup through it (-1: none): a hint, checked before use. */
const NEXT_HINT = 7;
const IN_FREE = 1;
const HASHED = 2;
/** Cached (HASHED set too) under a hash not computed yet: counted as cached, absent from the table. */
const DEFERRED = 4;

/**
 * The paged KV cache's blocks, as vLLM's `BlockPool`: a reference count per block, a free queue, and the
 * prefix cache (hash → block) over full blocks.
 *
 * Free queue order is the eviction order. Allocation takes from the front; a block whose reference count drops
 * to zero goes to the back and keeps its cached content until it is taken again (then it is evicted: removed
 * from the prefix cache, a `BlockRemoved` event). So the least recently freed block is evicted first, and as a
 * request frees its blocks tail-first ({@link freeBlocks}), its tail blocks are evicted before its head.
 * A cache hit on a free block takes it out of the queue ({@link touch}).
 *
 * Per-block state lives in one typed array, a block's fields side by side (a block touched on the hot path
 * costs one cache line, not one per field); the queue is an index-linked list and the prefix cache is an
 * open-addressing table keyed by the full 64-bit hash: no allocation per block or per lookup.
 *
 * A block whose content nobody else can know yet (generated tokens no one has seen) may be cached with its hash
 * deferred: it counts as cached from when it is full ({@link countDeferred}), is marked so when its request releases
 * it ({@link freeBlocks}; until then it is held, so nothing could evict it) and is evicted like any other, but it
 * enters the table only if its owner resolves it ({@link resolveDeferred}) before eviction. No lookup could have
 * found it in between (a lookup needs the same tokens), so every lookup, insertion and count comes out as if it had
 * been hashed at once. Marking at release saves a visit to each block's record when it fills.
 */
export class BlockPool {
  readonly numBlocks: number;
  /**
   * Block b's fields at b × STRIDE + offset: reference count, previous and next block in the free queue (-1 =
   * none), flags (IN_FREE, HASHED, DEFERRED), the cached hash's halves as int32 bit patterns, the owner tag of a
   * deferred block, and the next-block hint of {@link lookupAfter}.
   */
  private readonly blocks: Int32Array;
  private head = -1;
  private tail = -1;
  private free = 0;
  /**
   * Prefix cache: a linear-probing table of slots [hash hi, hash lo, block id, unused] (one slot per 16 bytes, so a
   * probe touches one cache line); block id -1 marks an empty slot. Halves are stored as int32 bit patterns.
   */
  private readonly table: Int32Array;
  private readonly mask: number;
  private cached = 0;

  constructor(
    numBlocks: number,
    private readonly events: KvEventRecorder,
  ) {
    this.numBlocks = numBlocks;
    this.blocks = new Int32Array(numBlocks * STRIDE);
    // At most one entry per block; a table of ≥ 2× that keeps probes short.
    let size = 16;
    while (size < numBlocks * 2) size *= 2;
    this.table = new Int32Array(size * 4);
    for (let i = 0; i < size; i++) this.table[i * 4 + 2] = -1;
    this.mask = size - 1;
    for (let i = 0; i < numBlocks; i++) {
      this.blocks[i * STRIDE + NEXT_HINT] = -1;
      this.pushBack(i);
    }
  }
  get numFreeBlocks(): number {
    return this.free;
  }
  /** Blocks in cache (free or in use). */
  get numCachedBlocks(): number {
    return this.cached;
  }
  /** Fraction of blocks held by requests, 0..1 (vLLM's kv_cache_usage_perc; cached free blocks count as free). */
  usage(): number {
    return this.numBlocks === 0 ? 0 : 1 - this.free / this.numBlocks;
  }
  refs(block: number): number {
    return this.blocks[block * STRIDE + REF]!;
  }
  isCached(block: number): boolean {
    return (this.blocks[block * STRIDE + FLAGS]! & HASHED) !== 0;
  }
  /** The cached block holding this hash, or -1. */
  lookup(hi: number, lo: number): number {
    const i = this.find(hi | 0, lo | 0);
    return i < 0 ? -1 : this.table[i * 4 + 2]!;
  }
  /**
   * {@link lookup} of the block after `prev` in a chain (`prev`: the block found for the previous hash, -1 for the
   * first). The block found after `prev` last time is checked first: a request sharing a cached prefix then reads the
   * records of the blocks it takes anyway instead of probing the table once per block. The answer is the table's: a
   * block in the table holds its hash in its record, and only there (HASHED without DEFERRED).
   */
  lookupAfter(prev: number, hi: number, lo: number): number {
    hi |= 0;
    lo |= 0;
    const b = this.blocks;
    if (prev >= 0) {
      const hint = b[prev * STRIDE + NEXT_HINT]!;
      if (hint >= 0) {
        const at = hint * STRIDE;
        if ((b[at + FLAGS]! & (HASHED | DEFERRED)) === HASHED && b[at + HASH_LO] === lo && b[at + HASH_HI] === hi) return hint;
      }
    }
    const i = this.find(hi, lo);
    if (i < 0) return -1;
    const block = this.table[i * 4 + 2]!;
    if (prev >= 0) b[prev * STRIDE + NEXT_HINT] = block;
    return block;
  }
  /** Takes a cached block for a request: out of the free queue if it was free, reference count + 1. */
  touch(block: number): void {
    const at = block * STRIDE;
    const b = this.blocks;
    if (b[at + REF] === 0 && (b[at + FLAGS]! & IN_FREE) !== 0) this.unlink(block);
    b[at + REF]!++;
  }
  /**
   * Takes the block at the front of the free queue for a new allocation (reference count 1), evicting its
   * cached content. Callers check {@link numFreeBlocks} first; returns -1 when none is free.
   */
  allocate(): number {
    const block = this.head;
    if (block < 0) return -1;
    this.unlink(block);
    if ((this.blocks[block * STRIDE + FLAGS]! & HASHED) !== 0) this.evict(block);
    this.blocks[block * STRIDE + REF] = 1;
    return block;
  }
  /**
   * Releases blocks[0, count) in the given order; those no request holds join the back of the free queue.
   * blocks[deferredFrom, deferredTo) are the releasing request's full blocks counted by {@link countDeferred}: they
   * are marked as cached with deferred hashes, tagged with `owner`.
   */
  freeBlocks(
    blocks: readonly number[],
    reverse: boolean,
    count = blocks.length,
    deferredFrom = 0,
    deferredTo = 0,
    owner = 0,
  ): void {
    const b = this.blocks;
    for (let k = 0; k < count; k++) {
      const i = reverse ? count - 1 - k : k;
      const block = blocks[i]!;
      if (i >= deferredFrom && i < deferredTo) {
        const at = block * STRIDE;
        b[at + FLAGS] = b[at + FLAGS]! | HASHED | DEFERRED;
        b[at + OWNER] = owner;
      }
      this.release(block);
    }
  }
  /**
   * Registers a full block under a hash. Returns false (and leaves the block uncached) when another block
   * already holds that hash: two requests computed the same prefix in one step.
   */
  cacheBlock(block: number, hi: number, lo: number): boolean {
    const b = this.blocks;
    const at = block * STRIDE;
    hi |= 0;
    lo |= 0;
    if ((b[at + FLAGS]! & HASHED) !== 0) return b[at + HASH_HI] === hi && b[at + HASH_LO] === lo;
    if (!this.insert(block, hi, lo)) return false;
    this.cached++;
    b[at + FLAGS] = b[at + FLAGS]! | HASHED;
    return true;
  }
  /**
   * Counts `n` full blocks held by one request as cached with deferred hashes: content no other request can hold or
   * look up before the owner resolves it. The request marks them when it frees them (freeBlocks' deferred range).
   * Not with KV events (a BlockStored or BlockRemoved event needs the hash).
   */
  countDeferred(n: number): void {
    if (this.events.enabled) throw new Error('BlockPool.countDeferred: KV events need every hash at once');
    this.cached += n;
  }
  /**
   * Enters a deferred block into the table under its now computed hash, if it is still cached for `owner` (not
   * evicted since). Returns whether it did. Only a 64-bit collision with another cached hash keeps it out (it is
   * then uncached, as {@link cacheBlock} would have left it).
   */
  resolveDeferred(block: number, owner: number, hi: number, lo: number): boolean {
    const b = this.blocks;
    const at = block * STRIDE;
    if ((b[at + FLAGS]! & DEFERRED) === 0 || b[at + OWNER] !== owner) return false;
    const ok = this.insert(block, hi | 0, lo | 0);
    b[at + FLAGS] = b[at + FLAGS]! & ~(DEFERRED | (ok ? 0 : HASHED));
    if (!ok) this.cached--;
    return ok;
  }
  /**
   * Drops the whole prefix cache (vLLM `reset_prefix_cache`). Allowed only when no request holds a block,
   * as in vLLM; returns whether it happened. Emits `AllBlocksCleared`.
   */
  reset(): boolean {
    if (this.free !== this.numBlocks) return false;
    for (let i = 0; i <= this.mask; i++) this.table[i * 4 + 2] = -1;
    this.cached = 0;
    for (let block = 0; block < this.numBlocks; block++) this.blocks[block * STRIDE + FLAGS]! &= ~(HASHED | DEFERRED);
    this.events.cleared();
    return true;
  }
  /** Block ids from the front of the free queue (the next to be evicted first): for tests and debugging. */
  freeQueue(): number[] {
    const out: number[] = [];
    for (let b = this.head; b >= 0; b = this.blocks[b * STRIDE + NEXT]!) out.push(b);
    return out;
  }
  private release(block: number): void {
    const r = --this.blocks[block * STRIDE + REF]!;
    if (r === 0) this.pushBack(block);
    else if (r < 0) throw new Error(`block ${block} freed more often than taken`);
  }
  private evict(block: number): void {
    const b = this.blocks;
    const at = block * STRIDE;
    if ((b[at + FLAGS]! & DEFERRED) !== 0) {
      // Never in the table, and no events are recorded with deferred hashes.
      b[at + FLAGS] = b[at + FLAGS]! & ~(HASHED | DEFERRED);
      this.cached--;
      return;
    }
    const hi = b[at + HASH_HI]!;
    const lo = b[at + HASH_LO]!;
    this.remove(this.find(hi, lo));
    b[at + FLAGS] = b[at + FLAGS]! & ~HASHED;
    this.events.removed(hi, lo);
  }
  /** Puts (hi, lo) → block into the table and the block's record; false when the hash is there already. */
  private insert(block: number, hi: number, lo: number): boolean {
    const t = this.table;
    let i = lo & this.mask;
    while (t[i * 4 + 2] !== -1) {
      if (t[i * 4 + 1] === lo && t[i * 4] === hi) return false;
      i = (i + 1) & this.mask;
    }
    t[i * 4] = hi;
    t[i * 4 + 1] = lo;
    t[i * 4 + 2] = block;
    const at = block * STRIDE;
    this.blocks[at + HASH_HI] = hi;
    this.blocks[at + HASH_LO] = lo;
    return true;
  }
  /** Slot holding (hi, lo) as int32 bit patterns, or -1. Hashes are well mixed, so the low bits pick the home slot. */
  private find(hi: number, lo: number): number {
    const t = this.table;
    let i = lo & this.mask;
    for (;;) {
      if (t[i * 4 + 2] === -1) return -1;
      if (t[i * 4 + 1] === lo && t[i * 4] === hi) return i;
      i = (i + 1) & this.mask;
    }
  }
  /** Empties slot i, shifting later entries of its probe run back (no tombstones, so probes stay short). */
  private remove(i: number): void {
    if (i < 0) return;
    const t = this.table;
    const mask = this.mask;
    let hole = i;
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      if (t[j * 4 + 2] === -1) break;
      const home = t[j * 4 + 1]! & mask;
      // Move j into the hole unless its home lies cyclically in (hole, j].
      const between = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (!between) {
        t[hole * 4] = t[j * 4]!;
        t[hole * 4 + 1] = t[j * 4 + 1]!;
        t[hole * 4 + 2] = t[j * 4 + 2]!;
        hole = j;
      }
    }
    t[hole * 4 + 2] = -1;
    this.cached--;
  }
  private pushBack(block: number): void {
    const b = this.blocks;
    const at = block * STRIDE;
    b[at + PREV] = this.tail;
    b[at + NEXT] = -1;
    if (this.tail >= 0) b[this.tail * STRIDE + NEXT] = block;
    else this.head = block;
    this.tail = block;
    b[at + FLAGS] = b[at + FLAGS]! | IN_FREE;
    this.free++;
  }
  private unlink(block: number): void {
    const b = this.blocks;
    const at = block * STRIDE;
    const p = b[at + PREV]!;
    const n = b[at + NEXT]!;
    if (p >= 0) b[p * STRIDE + NEXT] = n;
    else this.head = n;
    if (n >= 0) b[n * STRIDE + PREV] = p;
    else this.tail = p;
    b[at + FLAGS] = b[at + FLAGS]! & ~IN_FREE;
    this.free--;
  }
}
