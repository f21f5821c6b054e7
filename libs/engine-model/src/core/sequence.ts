import { type Rng } from '@brix/clock';
import { type Adapter } from '../lora/adapters';
import { type RequestObserver } from './types';

export type SequenceStatus = 'arriving' | 'waiting' | 'running' | 'preempted' | 'finished';

/** The engine's state of one request (vLLM's `Request`). Internal. */
export class Sequence {
  readonly numPromptTokens: number;
  /** Prompt plus generated tokens (a field, not a getter: it is read for every running request in every step). */
  numTokens: number;
  /** Tokens generated so far. */
  numOutput = 0;
  /**
   * Ids of the first `numDrawn` generated tokens; null until the first draw (then sized for the target output
   * once, so drawing allocates nothing per token). Without a token listener ids are drawn lazily, in order, from
   * the request's own Rng when something needs them (hashing a block of output, the finished result), so a decode
   * step touches no per-token storage; the ids are the same as if drawn at once.
   */
  output: number[] | null = null;
  numDrawn = 0;
  /** Whether an observer wants every token as it is generated (ids are then drawn eagerly). */
  readonly streams: boolean;
  /** Token slots of the block table (blockIds.length × block size), kept beside the hot fields. */
  slotTokens = 0;
  status: SequenceStatus = 'waiting';
  /** Tokens whose KV is computed (or scheduled to be by the step in flight). */
  numComputed = 0;
  /**
   * The request's block table: `blockIds[0, numBlocks)`. Sized once for the most blocks the request can hold
   * (prompt + target output), so growing the table allocates nothing.
   */
  readonly blockIds: number[];
  numBlocks = 0;
  /** Leading blocks of the table already offered to the prefix cache. */
  numCachedBlocks = 0;
  /**
   * First block of the table cached with a deferred hash (BlockPool.cacheDeferred), -1 for none: blocks from here
   * to `numCachedBlocks` hold generated tokens and are not hashed until something needs their hashes.
   */
  deferredFrom = -1;
  /**
   * Hashes of the first `numHashed` full blocks of prompt + output as int32 bit patterns: block j's halves at
   * 2j (high) and 2j + 1 (low). Sized for the prompt's full blocks at first and for the longest the request can get
   * when an output block is hashed (EngineCore.ensureHashes), so hashing allocates nothing per block; dropped (empty,
   * numHashed 0) once nothing but a preemption or a read of the ids needs them again. (A plain array of small
   * integers: cheaper to allocate for a short-lived request than a typed array with its own buffer.)
   */
  hashes: number[];
  numHashed = 0;
  numPreemptions = 0;
  /** Prefix-cache hit when first scheduled, tokens; -1 until then. */
  numCachedTokens = -1;
  firstScheduledMs: number | null = null;
  firstTokenMs: number | null = null;
  lastTokenMs: number | null = null;
  /** Part of the step in flight (steady requests excepted: see EngineCore.runWake). */
  inStep = false;
  /** First step of the request's steady decoding (EngineCore.runWake), -1 when it is not steady. */
  steadyFrom = -1;
  abortRequested = false;

  constructor(
    /** The engine's number for this request: the owner tag of its deferred blocks. */
    readonly serial: number,
    readonly id: string,
    readonly prompt: ArrayLike<number>,
    readonly maxTokens: number,
    /** Output tokens after which the request ends, and why. */
    readonly targetOutput: number,
    readonly finishReason: 'stop' | 'length',
    readonly adapter: Adapter | null,
    readonly arrivalMs: number,
    /** Entry into the engine's queue (vLLM's QUEUED event). */
    public queuedMs: number,
    readonly rng: Rng,
    readonly observer: RequestObserver | undefined,
    blockSize: number,
  ) {
    this.hashes = new Array<number>(2 * Math.floor(prompt.length / blockSize)).fill(0);
    this.blockIds = new Array<number>(Math.ceil((prompt.length + targetOutput) / blockSize)).fill(-1);
    this.numPromptTokens = prompt.length;
    this.numTokens = prompt.length;
    this.streams = observer?.onToken !== undefined;
  }

  /** Token i of prompt + output; output ids must have been drawn up to i (EngineCore.materialize). */
  tokenAt(i: number): number {
    return i < this.numPromptTokens ? this.prompt[i]! : this.output![i - this.numPromptTokens]!;
  }
}
