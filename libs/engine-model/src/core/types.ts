import { type FinishReason } from '../output';
import { type StepTimeBreakdown } from '../latency/step-time';

/** A generation request as the engine receives it (after the API server has tokenized and validated it). */
export interface EngineRequest {
  /** Unique among the engine's live requests. */
  id: string;
  /** Prompt token ids, BOS and chat template included. Not copied: do not mutate after submitting. */
  promptTokenIds: ArrayLike<number>;
  /** Default: maxModelLen − prompt length (vLLM's default). */
  maxTokens?: number;
  /** EOS is suppressed until this many tokens are generated. Default 0. */
  minTokens?: number;
  /** Generate exactly maxTokens (benchmark mode). Default false. */
  ignoreEos?: boolean;
  /**
   * Tokens the model would generate before EOS, EOS included (the model has no weights, so the caller may
   * decide). Unset: drawn from the engine's seeded {@link OutputLengthSampler}. Ignored with ignoreEos.
   */
  naturalOutputTokens?: number;
  /** LoRA adapter name, or unset/null for the base model. */
  adapter?: string | null;
  /** When the request reached the frontend, engine clock ms (TTFT and e2e start here). Default: submit time. */
  arrivalTimeMs?: number;
}

/** Receives one request's progress. Calls happen in the engine's clock callbacks, in time order. */
export interface RequestObserver {
  /** One generated token; `timeMs` is the end of the step that produced it. */
  onToken?(tokenId: number, index: number, timeMs: number): void;
  /** The request ended (finished, cut by max_tokens, or aborted); called once. */
  onFinish?(result: FinishedRequest): void;
}

/**
 * A request's lifecycle timestamps, engine clock ms, with vLLM's meanings
 * (`vllm/v1/metrics/stats.py`: arrival at the frontend, QUEUED, first SCHEDULED, first and last token).
 */
export interface RequestTimings {
  arrivalMs: number;
  queuedMs: number;
  firstScheduledMs: number | null;
  firstTokenMs: number | null;
  lastTokenMs: number | null;
  finishedMs: number;
}

export interface FinishedRequest {
  id: string;
  finishReason: FinishReason;
  adapter: string | null;
  promptTokens: number;
  outputTokens: number;
  /** Generated token ids (drawn on first read when the request was not streamed; same ids either way). */
  readonly outputTokenIds: readonly number[];
  maxTokens: number;
  /** Prompt tokens found in the prefix cache when first scheduled (vLLM `num_cached_tokens`). */
  cachedPromptTokens: number;
  preemptions: number;
  timings: RequestTimings;
}

/** vLLM's request intervals (VLLM-PROTOCOL §1 "Interval definitions"), ms; null when the interval never began. */
export interface RequestIntervals {
  /** Arrival to first token. */
  ttftMs: number | null;
  /** QUEUED to first SCHEDULED. */
  queueMs: number | null;
  /** First SCHEDULED to first token. */
  prefillMs: number | null;
  /** First token to last token. */
  decodeMs: number | null;
  /** First SCHEDULED to last token. */
  inferenceMs: number | null;
  /** Arrival to last token (to the finish time when no token came). */
  e2eMs: number;
  /** decode / (tokens − 1); null below two tokens. */
  tpotMs: number | null;
}

export function requestIntervals(r: FinishedRequest): RequestIntervals {
  const t = r.timings;
  const decodeMs = t.firstTokenMs !== null && t.lastTokenMs !== null ? t.lastTokenMs - t.firstTokenMs : null;
  return {
    ttftMs: t.firstTokenMs !== null ? t.firstTokenMs - t.arrivalMs : null,
    queueMs: t.firstScheduledMs !== null ? t.firstScheduledMs - t.queuedMs : null,
    prefillMs: t.firstScheduledMs !== null && t.firstTokenMs !== null ? t.firstTokenMs - t.firstScheduledMs : null,
    decodeMs,
    inferenceMs: t.firstScheduledMs !== null && t.lastTokenMs !== null ? t.lastTokenMs - t.firstScheduledMs : null,
    e2eMs: (t.lastTokenMs ?? t.finishedMs) - t.arrivalMs,
    tpotMs: decodeMs !== null && r.outputTokens > 1 ? decodeMs / (r.outputTokens - 1) : null,
  };
}

/** Monotonic counters, as vLLM's Prometheus counters (tokens counted as vLLM counts them). */
export interface EngineCounters {
  /** Each request's prompt length, counted in the step of its first token. */
  promptTokens: number;
  generationTokens: number;
  preemptions: number;
  /** Prompt tokens looked up in the prefix cache, per new request when first scheduled (preempted ones excluded). */
  prefixCacheQueries: number;
  /** Of those, tokens found (whole blocks, at most prompt − 1). */
  prefixCacheHits: number;
  requestSuccess: Record<FinishReason, number>;
  steps: number;
  /** Sum of step durations, ms. */
  busyMs: number;
  /**
   * Sum and count of vLLM's `time_to_first_token_seconds` observations, in ms: arrival at the frontend to the
   * first token, one per request. Rates and interval means come from deltas, as from the histogram's `_sum` and
   * `_count`.
   */
  ttftMsSum: number;
  ttftCount: number;
  /**
   * Sum and count of vLLM's `inter_token_latency_seconds` observations, in ms: one per generated token after a
   * request's first, the time since that request's previous token (a preemption's recompute included).
   */
  itlMsSum: number;
  itlCount: number;
}

/** The engine's state now: vLLM's gauges plus what `vllm:lora_requests_info` reports. */
export interface EngineSnapshot {
  timeMs: number;
  running: number;
  waiting: number;
  /** Fraction of KV blocks held by requests, 0..1. */
  kvCacheUsage: number;
  /** Blocks holding cached prefixes (held or free). */
  cachedBlocks: number;
  counters: EngineCounters;
  lora: {
    maxLoras: number;
    /** Adapters with a running request. */
    running: string[];
    /** Adapters with a waiting request. */
    waiting: string[];
    /** Adapters the engine serves. */
    registered: string[];
    /** Adapters loaded in host memory (at most maxCpuLoras). */
    loaded: string[];
  };
}

/** One engine step as it ran. */
export interface StepRecord {
  index: number;
  startMs: number;
  endMs: number;
  durationMs: number;
  breakdown: StepTimeBreakdown;
  scheduledSeqs: number;
  prefillTokens: number;
  decodeTokens: number;
  /** Requests admitted from the waiting queue in this step. */
  admitted: number;
  /** Requests preempted (by recompute) in this step. */
  preempted: number;
  /** Prompt lengths of requests that produced their first token in this step. */
  promptTokensCompleted: number;
  generatedTokens: number;
  /** vLLM's iteration_tokens_total observation: promptTokensCompleted + generatedTokens. */
  iterationTokens: number;
  /** Adapters loaded before this step ran. */
  adapterLoads: string[];
  /** State after the step. */
  running: number;
  waiting: number;
  kvCacheUsage: number;
}
