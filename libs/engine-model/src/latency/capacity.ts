import { type EngineConfig, type ResolvedEngineConfig, resolveEngineConfig } from '../config';
import { LatencyModel, StepWork } from './step-time';

/** The request shape a capacity figure is stated for. */
export interface ReferenceWorkload {
  inputTokens: number;
  outputTokens: number;
}

export const defaultReferenceWorkload: ReferenceWorkload = { inputTokens: 1024, outputTokens: 256 };

/**
 * What one engine (one model on `tensorParallelSize` GPUs of a type) can do, from the latency model: the
 * figure routing uses to compare load across GPU types, and the optimizer uses for cost.
 */
export interface CapacityEstimate {
  gpu: string;
  model: string;
  tensorParallelSize: number;
  kvCacheTokens: number;
  /** Reference requests that fit at once: min(maxNumSeqs, KV tokens / (input + output)). */
  maxConcurrency: number;
  /** One decode step of a single sequence with `inputTokens` of context, ms. */
  decodeStepMsAtBatch1: number;
  /** Prefill rate with full-budget chunks and no decodes, tokens/s. */
  prefillTokensPerSecond: number;
  /** Steady-state output rate with `maxConcurrency` reference requests in flight, tokens/s. */
  outputTokensPerSecond: number;
  requestsPerSecond: number;
  /** hourly price × GPUs / output tokens per hour, USD per million output tokens. */
  usdPerMillionOutputTokens: number;
}

/**
 * Analytic steady state of a saturated engine: B = maxConcurrency sequences decode at an average context of
 * input + output/2 while each step also prefills B × input/output tokens (every finished request is replaced by
 * a new one); when that exceeds the token budget the round is spread over several budget-full steps.
 * A planning figure (no queueing, no prefix hits), not a substitute for a simulation.
 */
export function estimateCapacity(
  config: EngineConfig | ResolvedEngineConfig,
  workload: ReferenceWorkload = defaultReferenceWorkload,
): CapacityEstimate {
  const c = 'numGpuBlocks' in config ? config : resolveEngineConfig(config);
  const lm = new LatencyModel(c.model, c.gpu, c.tensorParallelSize, c.calibration);
  const { inputTokens: inp, outputTokens: out } = workload;
  const maxConcurrency = Math.max(1, Math.min(c.maxNumSeqs, Math.floor(c.kvCacheTokens / (inp + out))));

  const decodeStepMsAtBatch1 = lm.stepMs(StepWork.of([{ newTokens: 1, contextTokens: inp }]));
  const chunk = Math.min(c.maxNumBatchedTokens, inp);
  const prefillChunks = Math.max(1, Math.floor(c.maxNumBatchedTokens / chunk));
  const prefillWork = StepWork.of(Array.from({ length: prefillChunks }, () => ({ newTokens: chunk, contextTokens: 0 })));
  const prefillTokensPerSecond = (prefillChunks * chunk * 1000) / lm.stepMs(prefillWork);

  const B = maxConcurrency;
  const prefillPerRound = (B * inp) / out;
  const spread = Math.max(1, (B + prefillPerRound) / c.maxNumBatchedTokens);
  const w = new StepWork();
  w.seqs = (B + B / out) / spread;
  w.tokens = (B + prefillPerRound) / spread;
  w.prefillSeqs = B / out / spread;
  w.prefillTokens = prefillPerRound / spread;
  w.prefillAttnPairs = (prefillPerRound * (inp + 1)) / 2 / spread;
  w.prefillKvTokens = prefillPerRound / spread;
  w.decodeKvTokens = (B * (inp + out / 2)) / spread;
  const outputTokensPerSecond = (B / spread / lm.stepMs(w)) * 1000;
  const tokensPerHour = outputTokensPerSecond * 3600;
  return {
    gpu: c.gpu.id,
    model: c.model.id,
    tensorParallelSize: c.tensorParallelSize,
    kvCacheTokens: c.kvCacheTokens,
    maxConcurrency,
    decodeStepMsAtBatch1,
    prefillTokensPerSecond,
    outputTokensPerSecond,
    requestsPerSecond: outputTokensPerSecond / out,
    usdPerMillionOutputTokens: ((c.gpu.hourlyUsd * c.tensorParallelSize) / tokensPerHour) * 1e6,
  };
}
