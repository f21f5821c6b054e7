import { BlockHasher, hashToBigInt } from '@brix/engine-model';
import { type BlockHash } from '@brix/routing';

/** A block of a memoised prompt prefix, under its parent block. */
interface MemoNode {
  /** The block's chained hash, as halves and as the bigint handed to routing. */
  readonly hi: number;
  readonly lo: number;
  readonly hash: BlockHash;
  /** The block's tokens once it is hot (seen twice); null while cold (seen once, known by its hash only). */
  tokens: number[] | null;
  /** Blocks seen after this one, by their first token; null while cold. */
  children: Map<number, MemoNode> | null;
}

/**
 * The simulated gateway's prefix hashes — `hashBlocks(tokens, { blockSize })` of `@brix/engine-model`, base-model
 * root — memoised along prompt prefixes that recur (shared documents, system prompts), so that a block many
 * requests share is hashed, and its bigint made, once.
 *
 * A trie of blocks: a prompt walks it from the root while its blocks equal hot nodes' tokens, taking their hashes.
 * The first block that leaves the hot paths is hashed; it becomes a cold child of the last hot node (by its hash) if
 * there was none, or turns a cold child with the same hash hot (two prompts share it, so more may); the rest of the
 * prompt is hashed without the memo. Every memoised hash was computed from its node's own tokens and parent, so the
 * result equals hashBlocks' in every case. A shared prefix is learned one block per request that uses it. At
 * `maxNodes` the memo starts over, which bounds its memory whatever the traffic.
 */
export class PrefixHashMemo {
  private readonly hasher: BlockHasher;
  private root: MemoNode;
  private nodes = 0;

  constructor(
    readonly blockTokens: number,
    private readonly maxNodes = 1 << 16,
  ) {
    this.hasher = new BlockHasher(blockTokens, 0);
    this.root = this.newRoot();
  }

  /** Hashes of every full block of `tokens`, first block first. */
  hashes(tokens: ArrayLike<number>): BlockHash[] {
    const B = this.blockTokens;
    const hasher = this.hasher;
    const count = Math.floor(tokens.length / B);
    const out = new Array<BlockHash>(count);
    let node: MemoNode | null = this.root;
    let hi = node.hi;
    let lo = node.lo;
    for (let j = 0; j < count; j++) {
      const start = j * B;
      const child: MemoNode | undefined = node?.children!.get(tokens[start]!);
      if (child !== undefined && child.tokens !== null && sameBlock(child.tokens, tokens, start)) {
        out[j] = child.hash;
        hi = child.hi;
        lo = child.lo;
        node = child;
        continue;
      }
      hasher.hashBlock(hi, lo, tokens, start, 0);
      hi = hasher.hi;
      lo = hasher.lo;
      if (node !== null && child !== undefined && child.tokens === null && child.hi === hi && child.lo === lo) {
        // Seen twice under the same parent: hot from now on.
        child.tokens = Array.prototype.slice.call(tokens, start, start + B) as number[];
        child.children = new Map();
        out[j] = child.hash;
        node = child;
        continue;
      }
      out[j] = hashToBigInt(hi, lo);
      if (node !== null && child === undefined) this.addCold(node, tokens[start]!, hi, lo, out[j]!);
      node = null;
    }
    return out;
  }

  private addCold(parent: MemoNode, key: number, hi: number, lo: number, hash: BlockHash): void {
    if (this.nodes >= this.maxNodes) {
      this.root = this.newRoot();
      this.nodes = 0;
      return;
    }
    parent.children!.set(key, { hi, lo, hash, tokens: null, children: null });
    this.nodes++;
  }

  private newRoot(): MemoNode {
    const h = this.hasher;
    return { hi: h.rootHi, lo: h.rootLo, hash: 0n, tokens: [], children: new Map() };
  }
}

function sameBlock(block: readonly number[], tokens: ArrayLike<number>, start: number): boolean {
  for (let k = 0; k < block.length; k++) if (block[k] !== tokens[start + k]) return false;
  return true;
}
