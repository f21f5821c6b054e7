import {
  fillTokens,
  type LengthDistribution,
  meanLength,
  sampleLength,
  type SimRequest,
  tokenSeed,
  type Workload,
} from '@brix/cluster-sim';
import { nextArrival, resolveBase, streams, type WorkloadBase, withModel } from './common';

/**
 * ShareGPT-like lengths. Source figures: the vLLM paper (Kwon et al., SOSP 2023, §6.1 and Fig. 11) reports ShareGPT
 * conversations with a mean of 161.31 input and 337.99 output tokens (8.4× and 5.8× Alpaca's 19.31 / 58.45).
 * Both distributions are right-skewed with long tails; we model them as log-normals with those means:
 * input median 98, σ 1.0 (mean 98·e^0.5 ≈ 161.6), output median 225, σ 0.9 (mean 225·e^0.405 ≈ 337.4).
 * The σ values are our choice of tail weight, not fitted to the dataset. Clamps keep prompt + output within an
 * 8k context (input ≤ 4,096, output ≤ 2,048); they lower the means by under 2%.
 */
export const SHAREGPT_INPUT: LengthDistribution = { kind: 'log-normal', median: 98, sigma: 1.0, min: 4, max: 4096 };
export const SHAREGPT_OUTPUT: LengthDistribution = { kind: 'log-normal', median: 225, sigma: 0.9, min: 1, max: 2048 };
/** The published means the distributions above are set to. */
export const SHAREGPT_PUBLISHED_MEANS = { inputTokens: 161.31, outputTokens: 337.99 } as const;

/**
 * The no-sharing workload: every prompt is a fresh token sequence (nothing to gain from prefix caches, so
 * cache-aware routing must not cost anything here), with ShareGPT-like input and output lengths.
 */
export interface ShareGptOptions extends WorkloadBase {
  readonly inputTokens?: LengthDistribution;
  readonly outputTokens?: LengthDistribution;
}

export function shareGptWorkload(input: ShareGptOptions): Workload {
  const inputTokens = input.inputTokens ?? SHAREGPT_INPUT;
  const outputTokens = input.outputTokens ?? SHAREGPT_OUTPUT;
  const base = resolveBase('sharegpt', input, { inputTokens, outputTokens });
  return {
    name: 'sharegpt (no sharing)',
    *requests(): Generator<SimRequest> {
      const { times, content } = streams(base);
      for (let n = 0; ; n++) {
        const t = nextArrival(base, times, n);
        if (t === null) return;
        const prompt = new Int32Array(Math.max(1, sampleLength(inputTokens, content)));
        fillTokens(prompt, 0, prompt.length, tokenSeed(content), base.vocabSize);
        yield withModel(base, {
          id: `sg${n}`,
          arrivalMs: t,
          promptTokenIds: prompt,
          outputTokens: Math.max(1, sampleLength(outputTokens, content)),
        });
      }
    },
  };
}

export function shareGptMeans(input: Partial<ShareGptOptions> = {}): { promptTokens: number; outputTokens: number } {
  return {
    promptTokens: meanLength(input.inputTokens ?? SHAREGPT_INPUT),
    outputTokens: meanLength(input.outputTokens ?? SHAREGPT_OUTPUT),
  };
}
