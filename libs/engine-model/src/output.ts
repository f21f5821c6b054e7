import { type Rng } from '@brix/clock';

/** Why a request ended, as vLLM's `finished_reason` label. */
export type FinishReason = 'stop' | 'length' | 'abort';

/**
 * How many tokens the model "would" generate before emitting EOS (EOS included) when the caller does not say.
 * The engine has no weights, so this is a modelling choice: drawn once per request from the engine's seeded
 * generator, then clamped by min_tokens / max_tokens (see {@link decideOutput}).
 */
export type OutputLengthSampler = (rng: Rng, request: { promptTokens: number; maxTokens: number }) => number;

/**
 * Default natural output length: log-normal with median 120 tokens and σ = 0.9, so its mean is ≈180 tokens —
 * the average output of the ShareGPT sample in the vLLM v0.6.0 performance blog (179 tokens over 500 prompts);
 * the median and spread are assumptions giving ShareGPT's long right tail.
 */
export const sharegptLikeOutputLength: OutputLengthSampler = (rng) => Math.max(1, Math.round(rng.logNormal(Math.log(120), 0.9)));

/**
 * Chooses the id of each generated token. The default draws uniformly from the vocabulary. The engine reuses one
 * context object for every call: read it, do not keep it.
 */
export type TokenSource = (ctx: TokenContext) => number;

export interface TokenContext {
  requestId: string;
  /** 0-based index of this output token. */
  index: number;
  /** Whether this is the request's last token, and why it ends (the EOS position when "stop"). */
  last: boolean;
  finishReason: 'stop' | 'length';
  rng: Rng;
  vocabSize: number;
}

export const uniformTokenSource: TokenSource = ({ rng, vocabSize }) => rng.int(0, vocabSize - 1);

/**
 * Output length and finish reason of a request:
 * - `ignoreEos`: exactly `maxTokens`, "length" (vLLM's benchmark mode).
 * - otherwise n = max(natural, minTokens) — min_tokens suppresses EOS until reached; n ≤ maxTokens ends with
 *   EOS ("stop") after n tokens, else the request is cut at `maxTokens` ("length").
 */
export function decideOutput(
  request: { ignoreEos: boolean; minTokens: number; maxTokens: number },
  natural: number,
): {
  tokens: number;
  reason: 'stop' | 'length';
} {
  if (request.ignoreEos) return { tokens: request.maxTokens, reason: 'length' };
  const n = Math.max(1, Math.round(natural), request.minTokens);
  return n <= request.maxTokens ? { tokens: n, reason: 'stop' } : { tokens: request.maxTokens, reason: 'length' };
}
