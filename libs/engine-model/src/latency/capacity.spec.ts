import { resolveEngineConfig } from '../config';
import { estimateCapacity } from './capacity';

const cap = (gpu: string, model = 'llama-3-8b', tp = 1) =>
  estimateCapacity(resolveEngineConfig({ gpu, model, tensorParallelSize: tp, maxModelLen: 8192 }));

describe('estimateCapacity', () => {
  it('ranks GPUs for Llama-3-8B by what bounds them: H200 > H100 > A100 > L40S > L20 > A10', () => {
    const order = ['H200', 'H100', 'A100-80GB', 'L40S', 'L20', 'A10'].map((g) => cap(g).outputTokensPerSecond);
    expect([...order].sort((a, b) => b - a)).toEqual(order);
  });

  it('bounds concurrency by KV capacity: an A10 holds ≈25 requests of 1024 + 256 tokens', () => {
    const c = cap('A10');
    // ≈32k KV tokens left after 15 GiB of weights on 24 GB; 32272 / 1280 = 25
    expect(c.maxConcurrency).toBe(Math.floor(c.kvCacheTokens / 1280));
    expect(c.maxConcurrency).toBe(25);
  });

  it('has a batch-1 decode step near weight bytes / bandwidth plus overhead', () => {
    // H100, Llama-3-8B: 15.0 GB / (3.35 TB/s × 0.8) = 5.6 ms + ≈1 ms overhead + a little KV
    expect(cap('H100').decodeStepMsAtBatch1).toBeGreaterThan(6.5);
    expect(cap('H100').decodeStepMsAtBatch1).toBeLessThan(7);
  });

  it('prices output tokens from the hourly price and the steady-state rate', () => {
    const c = cap('H100', 'llama-3-70b', 4);
    // 4 GPUs × $2.99/h over the tokens of one hour
    expect(c.usdPerMillionOutputTokens).toBeCloseTo(((4 * 2.99) / (c.outputTokensPerSecond * 3600)) * 1e6, 9);
    expect(c.requestsPerSecond).toBeCloseTo(c.outputTokensPerSecond / 256, 9);
  });
});
