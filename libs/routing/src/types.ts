import { type Rng } from '@brix/clock';

/**
 * What a routing policy may know about one engine at decision time. The gateway builds these from the
 * EngineDirectory, load snapshots and its own in-flight counts; the cluster simulation builds them from
 * its engine models. Policies never see where the numbers came from.
 */
export interface EngineView {
  readonly id: string;
  /** Base model served. */
  readonly model: string;
  readonly gpuType?: string;
  /**
   * Serving capacity relative to a reference engine (1 = reference). Capability-aware scoring divides
   * load by it, so an H100 engine with 8 requests counts as less loaded than an A10 engine with 8.
   */
  readonly capacity: number;
  /** Requests in the engine's running batch, from its latest load snapshot. */
  readonly running: number;
  /** Requests queued in the engine, from its latest load snapshot. */
  readonly waiting: number;
  /** Requests this router sent to the engine that have not finished: real time, no scrape lag. */
  readonly inFlight: number;
  /** Prompt + expected output tokens of those in-flight requests. */
  readonly inFlightTokens: number;
  /** Fraction of the engine's KV-cache blocks in use, 0..1. */
  readonly kvUsage: number;
  /** Token throughput over the engine's last reporting interval. */
  readonly promptTokensPerSec: number;
  readonly generationTokensPerSec: number;
  /** Recent mean time to first token and inter-token latency reported by the engine, ms; null = unknown. */
  readonly ttftMs: number | null;
  readonly itlMs: number | null;
  /** LoRA adapters loaded on the engine now. */
  readonly loadedAdapters: ReadonlySet<string>;
  /** Adapter slots (vLLM `--max-loras`); undefined when unknown. */
  readonly maxLoras?: number;
  /** Batch limit (vLLM `--max-num-seqs`); undefined when unknown. */
  readonly maxNumSeqs?: number;
  /**
   * The engine's load state is older than the freshness bound. Policies must treat a stale engine as
   * saturated (score it worst), never as idle.
   */
  readonly stale: boolean;
  /**
   * Whether the engine accepts traffic now (EngineInfo.ready). Routing never chooses an engine with
   * `ready: false`; undefined counts as ready, for callers that only pass ready engines.
   */
  readonly ready?: boolean;
}

/**
 * The block hash of one fixed-size prefix block; chained, so equal hashes mean equal prefixes up to that block.
 * An integer of up to 53 bits (exact in a double): numbers key maps and compare without allocating, where
 * 64-bit BigInts cost an object each. Collisions are ≈10⁻⁴ likely among a million blocks and could only
 * misjudge a prefix, never misroute a request's answer.
 */
export type BlockHash = number;

/** What a policy may know about the request being routed. */
export interface RoutingRequest {
  readonly id: string;
  /** Base model (after resolving an adapter name to its base). */
  readonly model: string;
  /** LoRA adapter addressed, if any. */
  readonly adapter?: string;
  /** The user the request is charged to (for fairness policies). */
  readonly user?: string;
  /** `x-session-id`, for session affinity. */
  readonly sessionId?: string;
  /** Prompt tokens: exact when the caller tokenized, an estimate otherwise. */
  readonly promptTokens: number;
  /** Output tokens to expect (max_tokens, or a default). */
  readonly maxTokens: number;
  /**
   * Chained hashes of the prompt's consecutive fixed-size blocks, first block first. The gateway hashes
   * prompt bytes; the simulation hashes token ids. Policies only compare them.
   */
  readonly prefixHashes: readonly BlockHash[];
}

/** Side effects a policy may use, injected so the same policy runs live and in virtual time. */
export interface RoutingContext {
  /** Milliseconds, from the caller's clock. */
  readonly now: number;
  /** Seeded in simulations; random policies draw only from it. */
  readonly rng: Rng;
}
