import { type Rng } from '@brix/clock';
import { type Adapter } from '../lora/adapters';
import { type RequestObserver } from './types';

export type SequenceStatus = 'arriving' | 'waiting' | 'running' | 'preempted' | 'finished';

/** The engine's state of one request (vLLM's `Request`). Internal. */
export class Sequence {
  readonly numPromptTokens: number;
  readonly output: number[] = [];
  status: SequenceStatus = 'waiting';
  /** Tokens whose KV is computed (or scheduled to be by the step in flight). */
  numComputed = 0;
  /** The request's block table. */
  blockIds: number[] = [];
  /** Leading blocks of the table already offered to the prefix cache. */
  numCachedBlocks = 0;
  /** Hashes of every full block of prompt + output so far, by block index. */
  readonly hashHi: number[] = [];
  readonly hashLo: number[] = [];
  numPreemptions = 0;
  /** Prefix-cache hit when first scheduled, tokens; -1 until then. */
  numCachedTokens = -1;
  firstScheduledMs: number | null = null;
  firstTokenMs: number | null = null;
  lastTokenMs: number | null = null;
  /** Part of the step in flight. */
  inStep = false;
  abortRequested = false;

  constructor(
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
  ) {
    this.numPromptTokens = prompt.length;
  }

  get numTokens(): number {
    return this.numPromptTokens + this.output.length;
  }

  tokenAt(i: number): number {
    return i < this.numPromptTokens ? this.prompt[i]! : this.output[i - this.numPromptTokens]!;
  }
}
