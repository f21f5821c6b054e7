import { type BlockHash, type RoutingRequest } from '@brix/routing';
import { type PrefixHashMemo } from './prefix-hash-memo';

/**
 * The RoutingRequest the simulated gateway hands to routing. As in the gateway, prefix hashes are computed only
 * when a policy reads them, once: chained hashes over consecutive full blocks of the memo's `blockTokens` prompt
 * tokens (the engine model's `hashBlocks`, base-model root, through the simulation's {@link PrefixHashMemo}), so
 * equal token prefixes give equal hash chains. The adapter is not mixed in, as the gateway's byte hashes do not mix
 * it either.
 */
export class SimRoutingRequest implements RoutingRequest {
  private hashes: BlockHash[] | undefined;

  constructor(
    readonly id: string,
    readonly model: string,
    readonly adapter: string | undefined,
    readonly user: string | undefined,
    readonly sessionId: string | undefined,
    /** Exact: the simulation has the token ids (the gateway estimates bytes / 4). */
    readonly promptTokens: number,
    readonly maxTokens: number,
    private readonly tokens: ArrayLike<number>,
    private readonly memo: PrefixHashMemo,
  ) {}

  get prefixHashes(): readonly BlockHash[] {
    return (this.hashes ??= this.memo.hashes(this.tokens));
  }
}
