import { EngineConfigError, activationReserveBytes, kvBytesPerToken, resolveEngineConfig, weightBytesPerGpu } from './config';
import { modelCatalog } from './catalog/models';
import { defaultCalibration } from './latency/calibration';

const MiB = 1024 ** 2;

describe('resolveEngineConfig', () => {
  it.each([
    // vLLM serve defaults (VLLM-PROTOCOL §5): ≥70 GiB and not A100 → 1024 seqs / 8192 tokens, else 256 / 2048
    ['H100', 1024, 8192],
    ['H200', 1024, 8192],
    ['A100-80GB', 256, 2048],
    ['L40S', 256, 2048],
    ['A10', 256, 2048],
  ])('on %s defaults to max_num_seqs %i and max_num_batched_tokens %i', (gpu, seqs, tokens) => {
    const c = resolveEngineConfig({ model: 'llama-3-8b', gpu, maxModelLen: 4096 });
    expect(c.maxNumSeqs).toBe(seqs);
    expect(c.maxNumBatchedTokens).toBe(tokens);
    // vLLM defaults: block 16, utilization 0.9, prefix caching on, max_loras 1
    expect(c.blockSize).toBe(16);
    expect(c.gpuMemoryUtilization).toBe(0.9);
    expect(c.enablePrefixCaching).toBe(true);
    expect(c.maxLoras).toBe(1);
  });

  it('sizes the KV cache as (memory × utilization − weights − activation reserve) / (block size × KV bytes per token)', () => {
    const c = resolveEngineConfig({ model: 'llama-3-8b', gpu: 'H100' });
    const m = modelCatalog['llama-3-8b'];
    // 81559 MiB × 0.9 of H100 memory, minus 8.03e9 × 2 bytes of weights, minus activations of an 8192-token
    // batch, 1024 × 128256 fp32 logits and 1 GiB non-torch memory; divided by 16 × 131072 bytes per block.
    const budget = 81559 * MiB * 0.9;
    const reserve = activationReserveBytes(m, 1, 8192, 1024, defaultCalibration);
    const expected = Math.floor((budget - weightBytesPerGpu(m, 1) - reserve) / (16 * kvBytesPerToken(m, 1)));
    expect(c.numGpuBlocks).toBe(expected);
    // ≈ 445k tokens (≈54 GiB): the size vLLM logs for Llama-3-8B on one H100 at 0.9 is in this range.
    expect(c.kvCacheTokens).toBeGreaterThan(400_000);
    expect(c.kvCacheTokens).toBeLessThan(470_000);
  });

  it('gives every GPU its share of the weights under tensor parallelism', () => {
    const tp1 = resolveEngineConfig({ model: 'llama-3-70b', gpu: 'H200', tensorParallelSize: 2 });
    const tp4 = resolveEngineConfig({ model: 'llama-3-70b', gpu: 'H100', tensorParallelSize: 4 });
    // 141 GB of weights over 2 and 4 ranks
    expect(tp1.memory.weightBytes / 1e9).toBeCloseTo(70.55, 1);
    expect(tp4.memory.weightBytes / 1e9).toBeCloseTo(35.28, 1);
    // KV bytes per token per rank: 327680 / 2 and / 4
    expect(tp1.memory.kvBytesPerToken).toBe(163840);
    expect(tp4.memory.kvBytesPerToken).toBe(81920);
  });

  it('takes numGpuBlocksOverride as given', () => {
    const c = resolveEngineConfig({ model: 'llama-3-8b', gpu: 'H100', numGpuBlocksOverride: 100, maxModelLen: 1024 });
    expect(c.numGpuBlocks).toBe(100);
    // 100 blocks × 16 tokens
    expect(c.kvCacheTokens).toBe(1600);
  });

  it.each([
    // 141 GB of weights cannot fit one 80 GB GPU
    [{ model: 'llama-3-70b', gpu: 'H100' }, /no memory left for the KV cache/],
    // Llama-3.1's 131072-token context needs 16 GiB of KV; an A10 has ≈4 GiB after weights
    [{ model: 'llama-3.1-8b', gpu: 'A10' }, /max seq len \(131072\) is larger than/],
    // 28 heads do not divide by 8 ranks
    [{ model: 'qwen2.5-7b', gpu: 'H100', tensorParallelSize: 8 }, /do not divide/],
    [{ model: 'no-such-model', gpu: 'H100' }, /unknown model/],
    [{ model: 'llama-3-8b', gpu: 'TPU' }, /unknown GPU/],
    [{ model: 'llama-3-8b', gpu: 'H100', blockSize: 0 }, /invalid engine config/],
  ])('refuses %j like vLLM refuses to start', (input, message) => {
    expect(() => resolveEngineConfig(input)).toThrow(EngineConfigError);
    expect(() => resolveEngineConfig(input)).toThrow(message);
  });
});
