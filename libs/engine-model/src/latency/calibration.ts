import Type, { type Static } from 'typebox';

/**
 * The constants of the step-time model that no datasheet gives: how close real kernels get to the peaks, and
 * what a step costs besides the GPU's arithmetic and memory traffic. Every value here is fitted or argued in
 * docs/benchmarks/engine-calibration.md; change them only together with that table (`node tools/calibrate/run.mjs`).
 */
export const LatencyCalibration = Type.Object({
  /** Fraction of peak dense tensor FLOP/s that the linear layers (GEMMs) reach when compute-bound. */
  gemmEfficiency: Type.Number({ exclusiveMinimum: 0, maximum: 1 }),
  /** Fraction of peak FLOP/s that attention kernels (FlashAttention / FlashInfer) reach on prefill. */
  attentionEfficiency: Type.Number({ exclusiveMinimum: 0, maximum: 1 }),
  /** Fraction of peak memory bandwidth that weight and KV reads reach when memory-bound. */
  memoryEfficiency: Type.Number({ exclusiveMinimum: 0, maximum: 1 }),
  /** Fixed cost of every engine step, ms: scheduling, input preparation, sampling, kernel launch gaps. */
  stepOverheadMs: Type.Number({ minimum: 0 }),
  /** Added per scheduled sequence per step, ms (per-request bookkeeping in the scheduler and sampler). */
  perSequenceOverheadMs: Type.Number({ minimum: 0 }),
  /** Fraction of link bandwidth that tensor-parallel all-reduce reaches. */
  allReduceEfficiency: Type.Number({ exclusiveMinimum: 0, maximum: 1 }),
  /** Extra time of the linear layers when a batch carries LoRA requests, as a fraction of their time. */
  loraSlowdown: Type.Number({ minimum: 0 }),
  /** GPU memory outside PyTorch's allocator (CUDA context, cuBLAS workspaces, CUDA graphs), GiB per GPU. */
  nonTorchMemoryGiB: Type.Number({ minimum: 0 }),
});
export type LatencyCalibration = Static<typeof LatencyCalibration>;

/**
 * Defaults fitted against the published vLLM figures in docs/benchmarks/engine-calibration.md.
 * - memoryEfficiency 0.8: decode at batch 1 is weight-read bound; the A100 and H100 runs of Llama-3-8B and the
 *   L4 run of Qwen2.5-0.5B land at 75–85% of HBM peak once the step overhead is taken out (STREAM-like copies
 *   reach ≈90%; GEMV kernels less).
 * - gemmEfficiency 0.7: A100 serving Qwen2.5-7B sustained ≈71% of 312 TFLOP/s on 2k-token prefill (its published
 *   token rate × 2 × params), and cuBLAS BF16 GEMMs typically reach 70–80% of peak on large shapes.
 * - stepOverheadMs / perSequenceOverheadMs: the gap between weight-bound decode time and published TPOT at
 *   batch 1 and at batch 32.
 * - allReduceEfficiency 0.7, loraSlowdown 0.15, nonTorchMemoryGiB 1.0: not fitted (no published figure in
 *   reach); stated assumptions.
 */
export const defaultCalibration: LatencyCalibration = {
  gemmEfficiency: 0.7,
  attentionEfficiency: 0.5,
  memoryEfficiency: 0.8,
  stepOverheadMs: 1.0,
  perSequenceOverheadMs: 0.03,
  allReduceEfficiency: 0.7,
  loraSlowdown: 0.15,
  nonTorchMemoryGiB: 1.0,
};
