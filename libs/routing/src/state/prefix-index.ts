import { type FeedbackHooks } from '../framework/plugin';
import { type BlockHash, type EngineView, type RoutingRequest } from '../types';

/**
 * One edge of the radix tree: a run of consecutive blocks that every engine in `mask` served whole.
 * Splitting at every divergence and at every recorded prompt's end keeps each edge's engine set uniform.
 */
interface Edge {
  /** Chained hashes of this edge's blocks, in prompt order. */
  hashes: BlockHash[];
  /** Engine slots as a bit set, 32 per word. Ancestors' sets contain their descendants'. */
  mask: number[];
  /** Children keyed by their first block hash; null for a leaf. */
  children: Map<BlockHash, Edge> | null;
  parent: Edge | null;
  /** LRU list neighbours: `older` toward the eviction end. */
  older: Edge | null;
  newer: Edge | null;
}

const hasSlot = (mask: readonly number[], slot: number): boolean => (((mask[slot >>> 5] ?? 0) >>> (slot & 31)) & 1) === 1;

/** A bit set holding just `slot`, sized for it (a leaf per routed request: no room to grow into). */
function maskOf(slot: number): number[] {
  const mask = new Array<number>((slot >>> 5) + 1).fill(0);
  mask[slot >>> 5] = (1 << (slot & 31)) >>> 0;
  return mask;
}

function setSlot(mask: number[], slot: number): void {
  const w = slot >>> 5;
  while (mask.length <= w) mask.push(0);
  mask[w] = (mask[w]! | (1 << (slot & 31))) >>> 0;
}

function clearSlot(mask: number[], slot: number): void {
  const w = slot >>> 5;
  if (w < mask.length) mask[w] = (mask[w]! & ~(1 << (slot & 31))) >>> 0;
}

const isEmpty = (mask: readonly number[]): boolean => mask.every((w) => w === 0);

/**
 * Length of the common prefix of `edge` and `hashes[pos..]`, given that their first blocks are equal.
 * Block hashes are chained (each covers every block before it), so equal hashes at offset k imply equal
 * hashes at every offset below k: the first difference is found by binary search, in O(log n) compares.
 */
function commonLength(edge: readonly BlockHash[], hashes: readonly BlockHash[], pos: number): number {
  let lo = 1;
  let hi = Math.min(edge.length, hashes.length - pos);
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (edge[mid - 1] === hashes[pos + mid - 1]) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/**
 * Which engines served which prompt prefixes, learned from routing decisions: a radix tree over chained
 * block hashes whose edges carry the set of engines that served them.
 *
 * - Matching a prompt of n blocks costs one map lookup and O(log n) hash compares per edge on its path,
 *   not one lookup per block: long prompts (thousands of blocks) match in microseconds.
 * - Memory is bounded by `maxBlocks` stored blocks. Eviction is LRU over edges; recording a prompt
 *   refreshes its path leaf-first, so a prefix is always fresher than its continuations and eviction
 *   trims prompts from their tails, never leaving a continuation whose prefix is gone.
 * - An engine's membership is refreshed whenever anyone uses the prefix; the index does not model each
 *   engine's own cache eviction (see the prefix-cache README).
 */
export class PrefixIndex implements FeedbackHooks {
  private readonly root: Edge = { hashes: [], mask: [], children: null, parent: null, older: null, newer: null };
  /** LRU list ends: `oldest` is evicted first. The root is never in the list. */
  private oldest: Edge | null = null;
  private newest: Edge | null = null;
  private blocks = 0;
  private readonly slots = new Map<string, number>();
  private readonly freeSlots: number[] = [];
  private nextSlot = 0;
  /** The edges a record() walks, reused by every call (entries past the walk's length are stale). */
  private readonly path: Edge[] = [];

  constructor(readonly maxBlocks: number) {
    if (!(maxBlocks >= 1)) throw new RangeError('maxBlocks must be at least 1');
  }

  /** Blocks stored now (≤ maxBlocks). */
  get size(): number {
    return this.blocks;
  }

  /** Engines the index knows. */
  get engines(): number {
    return this.slots.size;
  }

  /**
   * Depth of the deepest recorded prefix of `hashes` that each engine served, in blocks, written to `out`
   * in the order of `engineIds` (0 when none). Returns `out`.
   */
  match(
    hashes: readonly BlockHash[],
    engineIds: readonly string[],
    out: Int32Array = new Int32Array(engineIds.length),
  ): Int32Array {
    out.fill(0);
    if (hashes.length === 0 || this.root.children === null) return out;
    let alive: number[] = [];
    const slotOf: number[] = new Array(engineIds.length);
    for (let i = 0; i < engineIds.length; i++) {
      const slot = this.slots.get(engineIds[i]!);
      slotOf[i] = slot ?? -1;
      if (slot !== undefined) alive.push(i);
    }
    let node = this.root;
    let pos = 0;
    while (alive.length > 0 && pos < hashes.length) {
      const child = node.children?.get(hashes[pos]!);
      if (child === undefined) break;
      const m = commonLength(child.hashes, hashes, pos);
      const next: number[] = [];
      for (const i of alive) {
        if (hasSlot(child.mask, slotOf[i]!)) {
          out[i] = pos + m;
          next.push(i);
        }
      }
      alive = next;
      pos += m;
      if (m < child.hashes.length) break;
      node = child;
    }
    return out;
  }

  /** Records that `engineId` served a prompt with these chained block hashes (first block first). */
  record(hashes: readonly BlockHash[], engineId: string): void {
    if (hashes.length === 0) return;
    const slot = this.slotFor(engineId);
    const path = this.path;
    let depth = 0;
    let node = this.root;
    let pos = 0;
    while (pos < hashes.length) {
      const children = (node.children ??= new Map());
      const child = children.get(hashes[pos]!);
      if (child === undefined) {
        const leaf: Edge = {
          hashes: hashes.slice(pos),
          mask: maskOf(slot),
          children: null,
          parent: node,
          older: null,
          newer: null,
        };
        children.set(hashes[pos]!, leaf);
        this.blocks += leaf.hashes.length;
        path[depth++] = leaf;
        break;
      }
      const m = commonLength(child.hashes, hashes, pos);
      if (m < child.hashes.length) this.split(child, m);
      setSlot(child.mask, slot);
      path[depth++] = child;
      pos += m;
      node = child;
    }
    // Refresh leaf-first so every prefix ends up fresher than its continuations.
    for (let i = depth - 1; i >= 0; i--) this.touch(path[i]!);
    this.evict();
  }

  /** Forgets an engine: clears it from every edge and drops edges no engine is left on. */
  forgetEngine(engineId: string): void {
    const slot = this.slots.get(engineId);
    if (slot === undefined) return;
    for (let e = this.oldest; e !== null; ) {
      const newer = e.newer;
      clearSlot(e.mask, slot);
      // Ancestors hold supersets of their descendants' engines, so an emptied edge's subtree is empty too;
      // walking oldest-first removes descendants before their ancestors.
      if (isEmpty(e.mask)) this.remove(e);
      e = newer;
    }
    this.slots.delete(engineId);
    this.freeSlots.push(slot);
  }

  onRouted(request: RoutingRequest, engine: EngineView): void {
    this.record(request.prefixHashes, engine.id);
  }

  onEngineRemoved(engineId: string): void {
    this.forgetEngine(engineId);
  }

  private slotFor(engineId: string): number {
    let slot = this.slots.get(engineId);
    if (slot === undefined) {
      slot = this.freeSlots.pop() ?? this.nextSlot++;
      this.slots.set(engineId, slot);
    }
    return slot;
  }

  /** Cuts `edge` after `at` blocks; the tail becomes its only child and sits just older than it in the LRU list. */
  private split(edge: Edge, at: number): void {
    const tail: Edge = {
      hashes: edge.hashes.slice(at),
      mask: edge.mask.slice(),
      children: edge.children,
      parent: edge,
      older: null,
      newer: null,
    };
    if (tail.children) for (const c of tail.children.values()) c.parent = tail;
    edge.hashes.length = at;
    edge.children = new Map([[tail.hashes[0]!, tail]]);
    this.linkBefore(tail, edge);
  }

  /** Moves (or adds) `edge` to the newest end of the LRU list. */
  private touch(edge: Edge): void {
    if (this.newest === edge) return;
    this.unlink(edge);
    edge.older = this.newest;
    edge.newer = null;
    if (this.newest) this.newest.newer = edge;
    this.newest = edge;
    this.oldest ??= edge;
  }

  private linkBefore(edge: Edge, anchor: Edge): void {
    edge.newer = anchor;
    edge.older = anchor.older;
    if (anchor.older) anchor.older.newer = edge;
    else this.oldest = edge;
    anchor.older = edge;
  }

  private unlink(edge: Edge): void {
    if (edge.older) edge.older.newer = edge.newer;
    else if (this.oldest === edge) this.oldest = edge.newer;
    if (edge.newer) edge.newer.older = edge.older;
    else if (this.newest === edge) this.newest = edge.older;
    edge.older = edge.newer = null;
  }

  /** Detaches `edge` (and, defensively, anything under it) from the tree and the LRU list. */
  private remove(edge: Edge): void {
    if (edge.children) for (const c of [...edge.children.values()]) this.remove(c);
    edge.parent?.children?.delete(edge.hashes[0]!);
    if (edge.parent?.children?.size === 0) edge.parent.children = null;
    this.unlink(edge);
    this.blocks -= edge.hashes.length;
  }

  private evict(): void {
    while (this.blocks > this.maxBlocks && this.oldest) {
      const victim = this.oldest;
      const excess = this.blocks - this.maxBlocks;
      // The oldest edge is a leaf (descendants are always older than their ancestors), so trimming its
      // tail keeps the tree a valid set of prefixes.
      if (victim.children === null && victim.hashes.length > excess) {
        victim.hashes.length -= excess;
        this.blocks -= excess;
      } else {
        this.remove(victim);
      }
    }
  }
}
