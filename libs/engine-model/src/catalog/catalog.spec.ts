import { kvBytesPerToken, weightBytesPerGpu } from '../config';
import { type GpuSpec, gpuCatalog, isLargeGpuForDefaults } from './gpus';
import { type ModelSpec, architectureParams, modelCatalog } from './models';

const models = modelCatalog as Record<string, ModelSpec>;
const gpus = gpuCatalog as Record<string, GpuSpec>;

describe('model catalogue', () => {
  // The architecture numbers must reproduce each checkpoint's published parameter count: a wrong layer or
  // intermediate size shows up here as a percent-level gap.
  it.each(Object.keys(models))('%s: parameters from the architecture match the published count within 0.1%%', (id) => {
    const m = models[id]!;
    expect(Math.abs(architectureParams(m) / m.params - 1)).toBeLessThan(0.001);
  });

  it.each([
    // 2 (K,V) × 32 layers × 8 KV heads × 128 dims × 2 bytes
    ['llama-3-8b', 1, 131072],
    // 2 × 80 × 8 × 128 × 2; at TP4 each rank holds 2 of the 8 KV heads
    ['llama-3-70b', 1, 327680],
    ['llama-3-70b', 4, 81920],
    // 2 × 28 × 4 × 128 × 2
    ['qwen2.5-7b', 1, 57344],
    // no GQA: 2 × 32 × 32 × 128 × 2, four times Llama-3-8B's
    ['deepseek-coder-6.7b', 1, 524288],
    // 2 × 32 × 8 × 128 × 2
    ['mistral-7b', 1, 131072],
    // 2 × 24 × 2 × 64 × 2; at TP4 the 2 KV heads are replicated, one per rank
    ['qwen2.5-0.5b', 1, 12288],
    ['qwen2.5-0.5b', 4, 6144],
  ] as const)('%s at TP%i stores %i KV bytes per token per rank', (id, tp, bytes) => {
    expect(kvBytesPerToken(models[id]!, tp)).toBe(bytes);
  });

  it('splits weights across tensor-parallel ranks', () => {
    const m = models['llama-3-70b']!;
    // 70.55e9 params × 2 bytes ≈ 141 GB in all, a quarter per rank at TP4.
    expect(weightBytesPerGpu(m, 1) / 1e9).toBeCloseTo(141.1, 0);
    expect(weightBytesPerGpu(m, 4)).toBeCloseTo(weightBytesPerGpu(m, 1) / 4, 0);
  });
});

describe('GPU catalogue', () => {
  it('covers the GPUs Brix plans for, each with memory, bandwidth, peak FLOP/s and an hourly price', () => {
    for (const id of ['A10', 'L20', 'L40S', 'V100', 'A100-80GB', 'H100', 'H200']) {
      const g = gpus[id]!;
      expect(g).toBeDefined();
      expect(g.memoryMiB).toBeGreaterThan(20_000);
      expect(g.memoryBandwidthGBs).toBeGreaterThan(500);
      expect(g.peakTflops16).toBeGreaterThan(100);
      expect(g.hourlyUsd).toBeGreaterThan(0);
      expect(g.priceSource).not.toBe('');
    }
  });

  it.each([
    // ≥70 GiB and not an A100: vLLM's large-GPU scheduler defaults
    ['H100', true],
    ['H200', true],
    // 80 GiB, but vLLM singles out A100 by name
    ['A100-80GB', false],
    ['A100-80GB-PCIe', false],
    // below 70 GiB
    ['L40S', false],
    ['A10', false],
  ] as const)('%s gets the large-GPU defaults: %s', (id, large) => {
    expect(isLargeGpuForDefaults(gpus[id]!)).toBe(large);
  });
});
