import { type BlockHasher } from '@brix/block-hash';
import { type BlockHash, type RoutingRequest } from '@brix/routing';

/**
 * The RoutingRequest the simulated gateway hands to routing. As in the gateway, prefix hashes are computed only
 * when a policy reads them, once: chained hashes over consecutive full blocks of the hasher's block size in prompt
 * tokens (the engine model's block hashes, base-model root, cut to 53 bits as routing's block hashes are), so
 * equal token prefixes give equal hash chains. The adapter is not mixed in, as the gateway's byte hashes do not mix it either.
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
    /** The simulation's hasher over blocks of `prefixBlockTokens`, hash seed 0. */
    private readonly hasher: BlockHasher,
  ) {}

  get prefixHashes(): readonly BlockHash[] {
    return (this.hashes ??= this.hasher.hashChainNumbers(this.tokens));
  }
}
