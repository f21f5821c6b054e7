import { type GpuSpec } from '../catalog/gpus';
import { type ModelSpec, dtypeBytes, layerLinearParams, lmHeadParams } from '../catalog/models';
import { kvBytesPerToken } from '../config';
import { type LatencyCalibration } from './calibration';

/**
 * What one engine step computes, in the aggregate the latency model needs. The scheduler fills it while it
 * builds the batch ({@link StepWork.add}), so no per-sequence objects are made on the hot path.
 */
export class StepWork {
  /** Sequences in the batch (each gets one logits row and one sampling). */
  seqs = 0;
  /** New tokens processed: prefill-chunk tokens plus one per decoding sequence. */
  tokens = 0;
  /** Sequences whose chunk has more than one token. */
  prefillSeqs = 0;
  prefillTokens = 0;
  /**
   * Σ over prefill chunks of c·(p + (c+1)/2), c new tokens after p computed ones: the query–key pairs one head
   * of one layer scores with causal masking.
   */
  prefillAttnPairs = 0;
  /** Σ over prefill chunks of p + c: tokens whose K/V the chunk reads. */
  prefillKvTokens = 0;
  /** Σ over decoding sequences of p + 1: tokens whose K/V each new token attends to. */
  decodeKvTokens = 0;
  /** Distinct LoRA adapters in the batch. */
  loraAdapters = 0;
  /** Adapters that must be loaded before this step runs. */
  adapterLoads = 0;

  /** Empties the aggregate for the next step (the engine reuses one per core: a step is planned at a time). */
  reset(): this {
    this.seqs = 0;
    this.tokens = 0;
    this.prefillSeqs = 0;
    this.prefillTokens = 0;
    this.prefillAttnPairs = 0;
    this.prefillKvTokens = 0;
    this.decodeKvTokens = 0;
    this.loraAdapters = 0;
    this.adapterLoads = 0;
    return this;
  }

  /** Adds one sequence that processes `newTokens` tokens after `contextTokens` already computed ones. */
  add(newTokens: number, contextTokens: number): this {
    this.seqs++;
    this.tokens += newTokens;
    if (newTokens > 1) {
      this.prefillSeqs++;
      this.prefillTokens += newTokens;
      this.prefillAttnPairs += newTokens * (contextTokens + (newTokens + 1) / 2);
      this.prefillKvTokens += contextTokens + newTokens;
    } else {
      this.decodeKvTokens += contextTokens + newTokens;
    }
    return this;
  }

  /** A batch from a list of (new tokens, context) pairs: for tests and tables. */
  static of(
    seqs: ReadonlyArray<{ newTokens: number; contextTokens: number }>,
    lora: { adapters?: number; loads?: number } = {},
  ): StepWork {
    const w = new StepWork();
    for (const s of seqs) w.add(s.newTokens, s.contextTokens);
    w.loraAdapters = lora.adapters ?? 0;
    w.adapterLoads = lora.loads ?? 0;
    return w;
  }
}

/** One step's time by phase, ms. Each phase is max(compute time, memory time) except fixed costs. */
export interface StepTimeBreakdown {
  /** Linear layers + LM head: max(FLOPs / (peak × gemmEfficiency), weight bytes / (bandwidth × memoryEfficiency)). */
  linearMs: number;
  /** Whether the linear phase was limited by compute or by weight reads. */
  linearBound: 'compute' | 'memory';
  /** Attention of prefill chunks (compute-bound for long chunks). */
  attentionPrefillMs: number;
  /** Attention of decoding sequences (bound by KV-cache reads). */
  attentionDecodeMs: number;
  /** Tensor-parallel all-reduces: 2 per layer. */
  communicationMs: number;
  /** LoRA compute overhead plus adapter loads. */
  loraMs: number;
  /** Fixed step cost plus per-sequence cost. */
  overheadMs: number;
  totalMs: number;
}

/**
 * Step time from first principles (a roofline per phase), for one model on one GPU type at a TP size.
 *
 * - Linear layers: FLOPs = 2 × (layer parameters) × tokens + 2 × vocab × hidden × sequences (the LM head runs
 *   only on each sequence's last position); bytes = every weight once per step. Both divided across TP ranks.
 * - Attention: FLOPs = 4 × layers × heads × head_dim × (query–key pairs) (QKᵀ and PV); bytes = the K/V of every
 *   attended token (2 × layers × KV heads × head_dim × 2 bytes each). Prefill and decode kernels are costed apart.
 * - TP all-reduce: 2 per layer of tokens × hidden × 2 bytes; ring cost 2(tp−1)/tp × bytes / link bandwidth, plus
 *   a fixed latency each.
 * - Overheads from {@link LatencyCalibration}.
 */
export class LatencyModel {
  private readonly gemmFlopsPerMs: number;
  private readonly attnFlopsPerMs: number;
  private readonly bytesPerMs: number;
  private readonly linearFlopsPerToken: number;
  private readonly lmHeadFlopsPerSeq: number;
  private readonly weightBytes: number;
  private readonly attnFlopsPerPair: number;
  private readonly kvBytes: number;
  private readonly allReduceFixedMs: number;
  private readonly allReduceMsPerToken: number;

  constructor(
    readonly model: ModelSpec,
    readonly gpu: GpuSpec,
    readonly tensorParallelSize: number,
    readonly calibration: LatencyCalibration,
  ) {
    const tp = tensorParallelSize;
    const b = dtypeBytes(model.dtype);
    const gemmEff = gpu.efficiency?.gemm ?? calibration.gemmEfficiency;
    const memEff = gpu.efficiency?.memory ?? calibration.memoryEfficiency;
    // TFLOP/s → FLOP/ms: ×1e12 / 1e3. GB/s → bytes/ms: ×1e9 / 1e3.
    this.gemmFlopsPerMs = gpu.peakTflops16 * 1e9 * gemmEff;
    this.attnFlopsPerMs = gpu.peakTflops16 * 1e9 * calibration.attentionEfficiency;
    this.bytesPerMs = gpu.memoryBandwidthGBs * 1e6 * memEff;
    this.linearFlopsPerToken = (2 * model.layers * layerLinearParams(model)) / tp;
    this.lmHeadFlopsPerSeq = (2 * lmHeadParams(model)) / tp;
    this.weightBytes = ((model.layers * layerLinearParams(model) + lmHeadParams(model)) * b) / tp;
    this.attnFlopsPerPair = 4 * model.layers * (model.attentionHeads / tp) * model.headDim;
    this.kvBytes = kvBytesPerToken(model, tp);
    if (tp > 1) {
      const linkBytesPerMs = gpu.interconnect.bandwidthGBs * 1e6 * calibration.allReduceEfficiency;
      const allReduces = 2 * model.layers;
      this.allReduceFixedMs = (allReduces * gpu.interconnect.latencyUs) / 1000;
      this.allReduceMsPerToken = (allReduces * ((2 * (tp - 1)) / tp) * model.hiddenSize * b) / linkBytesPerMs;
    } else {
      this.allReduceFixedMs = 0;
      this.allReduceMsPerToken = 0;
    }
  }

  /** Total step time, ms: the allocation-free path the engine uses every step. Equals `breakdown(...).totalMs`. */
  stepMs(work: StepWork, adapterLoadMs = 0): number {
    if (work.seqs === 0) return 0;
    const c = this.calibration;
    const linear = this.linearMs(work);
    let total = linear;
    if (work.prefillSeqs > 0) total += this.attnMs(work.prefillAttnPairs, work.prefillKvTokens);
    if (work.decodeKvTokens > 0) total += this.attnMs(work.decodeKvTokens, work.decodeKvTokens);
    total += this.allReduceFixedMs + this.allReduceMsPerToken * work.tokens;
    if (work.loraAdapters > 0) total += c.loraSlowdown * linear;
    total += work.adapterLoads * adapterLoadMs;
    total += c.stepOverheadMs + c.perSequenceOverheadMs * work.seqs;
    return total;
  }

  /** The same step time by phase. `adapterLoadMs` is charged per adapter load the step waits for. */
  breakdown(work: StepWork, adapterLoadMs = 0): StepTimeBreakdown {
    const c = this.calibration;
    if (work.seqs === 0) {
      return {
        linearMs: 0,
        linearBound: 'memory',
        attentionPrefillMs: 0,
        attentionDecodeMs: 0,
        communicationMs: 0,
        loraMs: 0,
        overheadMs: 0,
        totalMs: 0,
      };
    }
    const computeMs = this.linearComputeMs(work);
    const memoryMs = this.weightBytes / this.bytesPerMs;
    const linearMs = Math.max(computeMs, memoryMs);
    const attentionPrefillMs = work.prefillSeqs > 0 ? this.attnMs(work.prefillAttnPairs, work.prefillKvTokens) : 0;
    const attentionDecodeMs = work.decodeKvTokens > 0 ? this.attnMs(work.decodeKvTokens, work.decodeKvTokens) : 0;
    const communicationMs = this.allReduceFixedMs + this.allReduceMsPerToken * work.tokens;
    const loraMs = (work.loraAdapters > 0 ? c.loraSlowdown * linearMs : 0) + work.adapterLoads * adapterLoadMs;
    const overheadMs = c.stepOverheadMs + c.perSequenceOverheadMs * work.seqs;
    return {
      linearMs,
      linearBound: computeMs >= memoryMs ? 'compute' : 'memory',
      attentionPrefillMs,
      attentionDecodeMs,
      communicationMs,
      loraMs,
      overheadMs,
      totalMs: linearMs + attentionPrefillMs + attentionDecodeMs + communicationMs + loraMs + overheadMs,
    };
  }

  /** Bytes of weights one rank reads per step. */
  get weightBytesPerStep(): number {
    return this.weightBytes;
  }

  private linearComputeMs(work: StepWork): number {
    return (this.linearFlopsPerToken * work.tokens + this.lmHeadFlopsPerSeq * work.seqs) / this.gemmFlopsPerMs;
  }

  private linearMs(work: StepWork): number {
    return Math.max(this.linearComputeMs(work), this.weightBytes / this.bytesPerMs);
  }

  private attnMs(pairs: number, kvTokens: number): number {
    return Math.max((this.attnFlopsPerPair * pairs) / this.attnFlopsPerMs, (kvTokens * this.kvBytes) / this.bytesPerMs);
  }
}
