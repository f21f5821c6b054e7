import { type RequestRecord } from '../report';

/**
 * One request of a workload, as a client would send it to the gateway — already tokenized, because the
 * simulation has no text: prompts are token ids, so shared prefixes are real shared token sequences that the
 * engines' prefix caches and the routers' prefix hashes both see.
 */
export interface SimRequest {
  /** Unique among requests in flight; default `r<n>` in arrival order. */
  readonly id?: string;
  /** When the request reaches the gateway, virtual ms. */
  readonly arrivalMs: number;
  /** Served model name (an engine's `model`); default: the model of the first engine configured. */
  readonly model?: string;
  /** Prompt token ids (BOS and chat template included). Not copied: do not mutate after handing it over. */
  readonly promptTokenIds: ArrayLike<number>;
  /**
   * Tokens the model generates before EOS, EOS included (the engine has no weights, so the workload decides).
   * Unset: drawn from the engine's seeded sampler (ShareGPT-like). Cut at `maxTokens` when larger.
   */
  readonly outputTokens?: number;
  /** The client's max_tokens. Unset: the engine allows up to its context length, the router expects `defaultMaxTokens`. */
  readonly maxTokens?: number;
  /** LoRA adapter named by the request (routed only to engines that serve it). */
  readonly adapter?: string;
  /** The user the request is charged to (fairness policies). */
  readonly user?: string;
  /** `x-session-id` (session affinity). */
  readonly sessionId?: string;
  /** `routing-strategy` header; unset: the policy's default. */
  readonly strategy?: string;
}

/**
 * A source of requests. Open-loop arrivals come from `requests()`, pulled lazily one at a time, so a generator
 * of hours of traffic never materialises its requests up front; they must come in non-decreasing `arrivalMs`.
 * Closed-loop workloads (multi-turn chat: the next turn follows the answer) also implement `onFinished`, which
 * sees every finished request and may submit follow-ups arriving at or after its finish time.
 *
 * A workload is single-use: `requests()` is called once per simulation run.
 */
export interface Workload {
  /** Shown in reports. */
  readonly name?: string;
  requests(): Iterator<SimRequest>;
  /**
   * Called once per request when its answer reached the gateway (or it was refused). `submit` schedules a
   * follow-up; its `arrivalMs` must not be earlier than `record.finishedMs`.
   */
  onFinished?(record: RequestRecord, submit: (request: SimRequest) => void): void;
}

/** A workload, or just the requests (an array, a generator) of an open-loop one. */
export type WorkloadInput = Workload | Iterable<SimRequest>;

function isWorkload(input: WorkloadInput): input is Workload {
  return typeof (input as Workload).requests === 'function';
}

/** Wraps an iterable of requests (an array, a generator) as an open-loop {@link Workload}. */
export function asWorkload(input: WorkloadInput, name?: string): Workload {
  if (isWorkload(input)) return input;
  return {
    name: name ?? (Array.isArray(input) ? `${input.length} requests` : 'requests'),
    requests: () => input[Symbol.iterator](),
  };
}
