// The cluster and workload the cluster-sim benchmarks share.
import { type PoissonWorkloadInput, type SimEngineSpec } from '@brix/cluster-sim';

/**
 * Chat traffic with shared system prompts: 80% of requests start with one of 20 documents (200–1,000 tokens,
 * Zipf-popular) and every request adds its own log-normal user part (median 150 tokens); natural output lengths
 * follow the engine model's ShareGPT-like shape (median 120, σ 0.9, mean ≈180 tokens). Mean prompt ≈ 680 tokens.
 */
export function chatWorkload(ratePerSec: number, durationMs: number, seed: number): PoissonWorkloadInput {
  return {
    seed,
    ratePerSec,
    durationMs,
    uniqueTokens: { kind: 'log-normal', median: 150, sigma: 0.8, max: 4000 },
    sharedPrefix: { documents: 20, tokens: { kind: 'uniform', min: 200, max: 1000 }, fraction: 0.8, zipf: 1 },
    outputTokens: { kind: 'log-normal', median: 120, sigma: 0.9, max: 2048 },
  };
}

/** `n` identical engines with vLLM's defaults for the GPU (engine-sim's frontend time comes from the cluster default). */
export function engines(n: number, model: string, gpu: string): SimEngineSpec[] {
  return Array.from({ length: n }, (_, i) => ({ id: `${gpu.toLowerCase()}-${i}`, model, gpu }));
}
