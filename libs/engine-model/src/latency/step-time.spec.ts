import { gpuCatalog } from '../catalog/gpus';
import { layerLinearParams, lmHeadParams, modelCatalog } from '../catalog/models';
import { type LatencyCalibration, defaultCalibration } from './calibration';
import { LatencyModel, StepWork } from './step-time';

const llama8b = modelCatalog['llama-3-8b'];
const llama70b = modelCatalog['llama-3-70b'];
const h100 = gpuCatalog.H100;
const cal: LatencyCalibration = defaultCalibration;
const overhead1 = cal.stepOverheadMs + cal.perSequenceOverheadMs;

// Llama-3-8B weights read per step: 32 layers × 218.1M linear params + the 525M-param LM head, 2 bytes each.
const llama8bStepBytes = (32 * layerLinearParams(llama8b) + lmHeadParams(llama8b)) * 2;
// Linear FLOPs per token: 2 × 32 × 218.1M ≈ 13.96 GFLOP.
const llama8bFlopsPerToken = 2 * 32 * layerLinearParams(llama8b);

describe('LatencyModel (roofline per phase)', () => {
  const h100Llama = new LatencyModel(llama8b, h100, 1, cal);

  it.each([
    {
      name: 'decode, batch 1, H100, Llama-3-8B: weight bytes / (bandwidth × efficiency), memory-bound',
      work: StepWork.of([{ newTokens: 1, contextTokens: 0 }]),
      bound: 'memory',
      // 15.01 GB / (3350 GB/s × 0.8) = 5.60 ms; at full bandwidth it would be 4.48 ms
      linearMs: (llama8bStepBytes / (3350e9 * 0.8)) * 1000,
    },
    {
      name: 'decode, batch 64, H100, Llama-3-8B: still memory-bound (64 × 14 GFLOP ≪ ridge)',
      work: StepWork.of(Array.from({ length: 64 }, () => ({ newTokens: 1, contextTokens: 1024 }))),
      bound: 'memory',
      // weights are read once whatever the batch: the same 5.60 ms
      linearMs: (llama8bStepBytes / (3350e9 * 0.8)) * 1000,
    },
    {
      name: 'prefill of 2048 tokens, H100, Llama-3-8B: compute-bound',
      work: StepWork.of([{ newTokens: 2048, contextTokens: 0 }]),
      bound: 'compute',
      // (2048 × 13.96 GFLOP + one LM-head row 2 × 525M) / (989 TFLOP/s × 0.7) = 41.3 ms ≫ 5.6 ms of weight reads
      linearMs: ((2048 * llama8bFlopsPerToken + 2 * lmHeadParams(llama8b)) / (989e12 * 0.7)) * 1000,
    },
  ])('$name', ({ work, bound, linearMs }) => {
    const b = h100Llama.breakdown(work);
    expect(b.linearBound).toBe(bound);
    expect(b.linearMs).toBeCloseTo(linearMs, 6);
    expect(b.totalMs).toBeCloseTo(h100Llama.stepMs(work), 9);
  });

  it('reads every decoding sequence’s KV: 64 sequences × 1025 tokens × 128 KiB add ≈3.2 ms at 2.68 TB/s', () => {
    const one = h100Llama.breakdown(StepWork.of([{ newTokens: 1, contextTokens: 1024 }]));
    const many = h100Llama.breakdown(StepWork.of(Array.from({ length: 64 }, () => ({ newTokens: 1, contextTokens: 1024 }))));
    // 64 × 1025 × 131072 B = 8.6 GB over 3350 GB/s × 0.8
    expect(many.attentionDecodeMs).toBeCloseTo(((64 * 1025 * 131072) / (3350e9 * 0.8)) * 1000, 6);
    expect(many.attentionDecodeMs / one.attentionDecodeMs).toBeCloseTo(64, 6);
    // the per-sequence overhead: 63 more sequences × 0.03 ms
    expect(many.overheadMs - one.overheadMs).toBeCloseTo(63 * cal.perSequenceOverheadMs, 9);
  });

  it('prefill with half the prompt in the prefix cache costs about half', () => {
    const cold = h100Llama.stepMs(StepWork.of([{ newTokens: 2048, contextTokens: 0 }]));
    const warm = h100Llama.stepMs(StepWork.of([{ newTokens: 1024, contextTokens: 1024 }]));
    // Linear work halves exactly; attention of the second half scores 1024 × ~1536 pairs instead of 2048 × ~1024,
    // 75% of the pairs, so the ratio lands a little above 0.5.
    expect(warm / cold).toBeGreaterThan(0.5);
    expect(warm / cold).toBeLessThan(0.55);
  });

  it('a prefill chunk and decodes in one step cost less than two steps', () => {
    const mixed = h100Llama.stepMs(
      StepWork.of([
        { newTokens: 512, contextTokens: 0 },
        ...Array.from({ length: 32 }, () => ({ newTokens: 1, contextTokens: 512 })),
      ]),
    );
    const apart =
      h100Llama.stepMs(StepWork.of([{ newTokens: 512, contextTokens: 0 }])) +
      h100Llama.stepMs(StepWork.of(Array.from({ length: 32 }, () => ({ newTokens: 1, contextTokens: 512 }))));
    // The decodes ride on the prefill's weight reads (the point of chunked prefill).
    expect(mixed).toBeLessThan(apart);
  });

  describe('tensor parallelism', () => {
    const tp4 = new LatencyModel(llama70b, h100, 4, cal);
    const decode = StepWork.of([{ newTokens: 1, contextTokens: 0 }]);

    it('divides weight reads by the TP size: Llama-3-70B decode on 4×H100 reads 141 GB / 4 per GPU', () => {
      const b = tp4.breakdown(decode);
      const bytes = ((80 * layerLinearParams(llama70b) + lmHeadParams(llama70b)) * 2) / 4;
      expect(b.linearMs).toBeCloseTo((bytes / (3350e9 * 0.8)) * 1000, 6);
    });

    it('adds 2 all-reduces per layer: 160 × 10 µs of latency plus ring traffic', () => {
      const b = tp4.breakdown(decode);
      // 160 × (10 µs + 2·3/4 × 8192 × 2 bytes / (450 GB/s × 0.7))
      const expected = 160 * (0.01 + ((1.5 * 8192 * 2) / (450e9 * 0.7)) * 1000);
      expect(b.communicationMs).toBeCloseTo(expected, 9);
    });

    it('makes the same all-reduce slower over PCIe than over NVLink', () => {
      const pcie = new LatencyModel(llama70b, gpuCatalog['A100-80GB-PCIe'], 4, cal);
      const nvlink = new LatencyModel(llama70b, gpuCatalog['A100-80GB'], 4, cal);
      const prefill = StepWork.of([{ newTokens: 2048, contextTokens: 0 }]);
      expect(pcie.breakdown(prefill).communicationMs).toBeGreaterThan(5 * nvlink.breakdown(prefill).communicationMs);
    });
  });

  it('charges LoRA batches the LoRA slowdown and each adapter load', () => {
    const base = StepWork.of([{ newTokens: 1, contextTokens: 0 }]);
    const lora = StepWork.of([{ newTokens: 1, contextTokens: 0 }], { adapters: 1, loads: 1 });
    const b = h100Llama.breakdown(lora, 50);
    // 0.15 × linear time + one 50 ms load
    expect(b.loraMs).toBeCloseTo(cal.loraSlowdown * b.linearMs + 50, 9);
    expect(h100Llama.stepMs(lora, 50) - h100Llama.stepMs(base)).toBeCloseTo(b.loraMs, 9);
  });

  it('costs nothing for an empty step and a fixed overhead for a one-token step', () => {
    expect(h100Llama.stepMs(new StepWork())).toBe(0);
    expect(h100Llama.breakdown(StepWork.of([{ newTokens: 1, contextTokens: 0 }])).overheadMs).toBeCloseTo(overhead1, 9);
  });
});
