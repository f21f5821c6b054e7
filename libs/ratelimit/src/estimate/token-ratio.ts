/**
 * Learns, per model, how the gateway's cheap prompt estimate (UTF-8 bytes / 4) compares with the prompt
 * tokens the engine reports, and scales later estimates by it. Exact BPE on the request path would cost
 * about 1 ms per 2 KB of prompt; this costs a multiplication.
 *
 * The ratio is Σ actual / Σ estimated over recent requests with exponential decay, so long prompts weigh
 * more than short ones (whose count is dominated by the chat template) and the ratio follows a change of
 * traffic within a few hundred requests. Until enough tokens have been seen the ratio stays 1.
 */
export interface TokenRatioOptions {
  /** Weight kept by the past at each sample, 0..1 (default 0.98: a sample's weight halves after ≈34 samples). */
  decay?: number;
  /** Estimated tokens that must have been seen before the ratio is used (default 256). */
  minEstimatedTokens?: number;
  /** Bounds of the ratio, so that a few odd samples cannot make estimates absurd (default 0.25..4). */
  min?: number;
  max?: number;
}

interface Sums {
  estimated: number;
  actual: number;
  seen: number;
}

export class TokenRatio {
  private readonly models = new Map<string, Sums>();
  private readonly decay: number;
  private readonly minSeen: number;
  private readonly min: number;
  private readonly max: number;

  constructor(options: TokenRatioOptions = {}) {
    this.decay = options.decay ?? 0.98;
    this.minSeen = options.minEstimatedTokens ?? 256;
    this.min = options.min ?? 0.25;
    this.max = options.max ?? 4;
  }

  /** The multiplier for `model`'s estimates (1 until learned). */
  ratio(model: string): number {
    const s = this.models.get(model);
    if (!s || s.seen < this.minSeen || s.estimated <= 0) return 1;
    return Math.min(this.max, Math.max(this.min, s.actual / s.estimated));
  }

  /** The refined prompt estimate: whole tokens, rounded up. */
  refine(model: string, estimatedPromptTokens: number): number {
    // The epsilon keeps float noise (1.5000000001 × 1000) from adding a token.
    return Math.ceil(estimatedPromptTokens * this.ratio(model) - 1e-6);
  }

  /** Records one finished request: the gateway's raw estimate and the engine's count. */
  learn(model: string, estimatedPromptTokens: number, actualPromptTokens: number): void {
    if (estimatedPromptTokens <= 0 || actualPromptTokens < 0) return;
    let s = this.models.get(model);
    if (!s) {
      s = { estimated: 0, actual: 0, seen: 0 };
      this.models.set(model, s);
    }
    s.estimated = s.estimated * this.decay + estimatedPromptTokens;
    s.actual = s.actual * this.decay + actualPromptTokens;
    s.seen += estimatedPromptTokens;
  }
}
