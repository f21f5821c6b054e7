import Type, { type Static } from 'typebox';
import { Compile } from 'typebox/compile';
import { GpuSpec, gpuCatalog, isLargeGpuForDefaults } from './catalog/gpus';
import { ModelSpec, architectureParams, dtypeBytes, modelCatalog } from './catalog/models';
import { LatencyCalibration, defaultCalibration } from './latency/calibration';

/**
 * An engine's configuration: vLLM's engine arguments that shape scheduling, memory and latency, by their
 * vLLM meaning (names camelCased). Unset fields take vLLM's defaults for the GPU (see {@link resolveEngineConfig}).
 * `model` and `gpu` name catalogue entries or carry a full spec.
 */
export const EngineConfig = Type.Object({
  model: Type.Union([Type.String({ minLength: 1 }), ModelSpec]),
  gpu: Type.Union([Type.String({ minLength: 1 }), GpuSpec]),
  tensorParallelSize: Type.Optional(Type.Integer({ minimum: 1, default: 1 })),
  /** Default 1024 on GPUs with ≥70 GiB that are not A100, else 256. */
  maxNumSeqs: Type.Optional(Type.Integer({ minimum: 1 })),
  /** Token budget per step. Default (as `vllm serve`): 8192 on GPUs with ≥70 GiB that are not A100, else 2048. */
  maxNumBatchedTokens: Type.Optional(Type.Integer({ minimum: 1 })),
  /** Default: the model's max_position_embeddings. */
  maxModelLen: Type.Optional(Type.Integer({ minimum: 2 })),
  blockSize: Type.Optional(Type.Integer({ minimum: 1, default: 16 })),
  gpuMemoryUtilization: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1, default: 0.9 })),
  /** Replaces the profiled block count, as vLLM's `--num-gpu-blocks-override`. */
  numGpuBlocksOverride: Type.Optional(Type.Integer({ minimum: 1 })),
  enablePrefixCaching: Type.Optional(Type.Boolean({ default: true })),
  /** Serve LoRA adapters (vLLM `--enable-lora`). Default false: requests naming an adapter are refused. */
  enableLora: Type.Optional(Type.Boolean({ default: false })),
  /** Adapters registered and loaded at start (vLLM `--lora-modules`). */
  loraModules: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
  /** Distinct adapters allowed in one batch (vLLM `max_loras`, default 1). */
  maxLoras: Type.Optional(Type.Integer({ minimum: 1, default: 1 })),
  /** Adapters kept loaded in host memory (vLLM `max_cpu_loras`, default = maxLoras). */
  maxCpuLoras: Type.Optional(Type.Integer({ minimum: 1 })),
  /** Time to load one adapter from storage into the engine, ms (an assumption; see the README). */
  adapterLoadMs: Type.Optional(Type.Number({ minimum: 0, default: 50 })),
  /**
   * Time from a request's arrival at the API server to its entry into the engine's queue, ms: tokenization,
   * the frontend → engine-core hop, and the same path back for the first token. Adds to TTFT and e2e, not to
   * ITL or queue time. Default 0 (engine only); docs/benchmarks/engine-calibration.md measures ≈20 ms for vLLM.
   */
  frontendLatencyMs: Type.Optional(Type.Number({ minimum: 0, default: 0 })),
  /** Seeds output lengths and generated token ids. */
  seed: Type.Optional(Type.Integer({ default: 0 })),
  /**
   * Seeds the prefix-cache hash chain (vLLM's NONE_HASH). Engines with the same value produce the same block
   * hashes for the same tokens, as vLLM replicas do when PYTHONHASHSEED is set.
   */
  hashSeed: Type.Optional(Type.Integer({ default: 0 })),
  calibration: Type.Optional(Type.Partial(LatencyCalibration)),
});
export type EngineConfig = Static<typeof EngineConfig>;

/** Invalid engine configuration: a start-up error (vLLM refuses to start), never a request error. */
export class EngineConfigError extends Error {
  override readonly name = 'EngineConfigError';
  readonly code = 'BRIX_ENGINE_CONFIG_INVALID';
}

/** Where the GPU memory goes, per GPU, in bytes. */
export interface MemoryPlan {
  totalBytes: number;
  /** totalBytes × gpuMemoryUtilization: what vLLM may use. */
  budgetBytes: number;
  weightBytes: number;
  /** Peak activations of a max-size batch plus sampler logits plus non-torch memory. */
  activationReserveBytes: number;
  kvCacheBytes: number;
  /** KV bytes per token on one GPU (K and V, all layers, this rank's KV heads). */
  kvBytesPerToken: number;
}

/** A configuration with every default applied and the derived quantities the engine runs on. */
export interface ResolvedEngineConfig {
  model: ModelSpec;
  gpu: GpuSpec;
  tensorParallelSize: number;
  maxNumSeqs: number;
  maxNumBatchedTokens: number;
  maxModelLen: number;
  blockSize: number;
  gpuMemoryUtilization: number;
  enablePrefixCaching: boolean;
  enableLora: boolean;
  loraModules: string[];
  maxLoras: number;
  maxCpuLoras: number;
  adapterLoadMs: number;
  frontendLatencyMs: number;
  seed: number;
  hashSeed: number;
  calibration: LatencyCalibration;
  numGpuBlocks: number;
  /** numGpuBlocks × blockSize. */
  kvCacheTokens: number;
  memory: MemoryPlan;
}

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const checkConfig = Compile(EngineConfig);

export function lookupGpu(gpu: string | GpuSpec): GpuSpec {
  if (typeof gpu !== 'string') return gpu;
  const spec = (gpuCatalog as Record<string, GpuSpec>)[gpu];
  if (!spec) throw new EngineConfigError(`unknown GPU "${gpu}"; known: ${Object.keys(gpuCatalog).join(', ')}`);
  return spec;
}

export function lookupModel(model: string | ModelSpec): ModelSpec {
  if (typeof model !== 'string') return model;
  const spec = (modelCatalog as Record<string, ModelSpec>)[model];
  if (!spec) throw new EngineConfigError(`unknown model "${model}"; known: ${Object.keys(modelCatalog).join(', ')}`);
  return spec;
}

/** KV heads held by one tensor-parallel rank: heads are split, or replicated when fewer than ranks. */
export function kvHeadsPerRank(model: ModelSpec, tp: number): number {
  return Math.max(1, Math.ceil(model.kvHeads / tp));
}

/** K and V of every layer for one token on one rank, bytes. Llama-3-8B at TP1: 2·32·8·128·2 = 131072. */
export function kvBytesPerToken(model: ModelSpec, tp = 1): number {
  return 2 * model.layers * kvHeadsPerRank(model, tp) * model.headDim * dtypeBytes(model.dtype);
}

/** Weights held by one rank, bytes: every matrix is split across ranks (the vocabulary one too). */
export function weightBytesPerGpu(model: ModelSpec, tp = 1): number {
  return (architectureParams(model) * dtypeBytes(model.dtype)) / tp;
}

/**
 * Memory vLLM's profiler sees outside weights and KV: activations of one `maxNumBatchedTokens` forward pass
 * (the gated-MLP intermediates dominate), the sampler's FP32 logits for `maxNumSeqs` rows, and non-torch memory.
 * An estimate of vLLM's profiling run, not a measurement.
 */
export function activationReserveBytes(
  model: ModelSpec,
  tp: number,
  maxNumBatchedTokens: number,
  maxNumSeqs: number,
  calibration: LatencyCalibration,
): number {
  const b = dtypeBytes(model.dtype);
  const perToken =
    (3 * model.intermediateSize + (model.attentionHeads + 2 * model.kvHeads) * model.headDim) / tp + 2 * model.hiddenSize;
  const activations = maxNumBatchedTokens * perToken * b;
  const logits = maxNumSeqs * model.vocabSize * 4;
  return activations + logits + calibration.nonTorchMemoryGiB * GiB;
}

/**
 * Applies vLLM's defaults and derives the KV-cache size:
 * blocks = ⌊(memory × utilization − weights/TP − activation reserve) / (block size × KV bytes per token per rank)⌋.
 * Throws {@link EngineConfigError} where vLLM would refuse to start (the KV cache cannot hold one max-length
 * sequence, the weights do not fit, heads do not divide by the TP size).
 */
export function resolveEngineConfig(input: EngineConfig): ResolvedEngineConfig {
  if (!checkConfig.Check(input)) {
    const first = [...checkConfig.Errors(input)][0];
    throw new EngineConfigError(
      `invalid engine config: ${first ? `${first.instancePath || '/'} ${first.message}` : 'schema mismatch'}`,
    );
  }
  const gpu = lookupGpu(input.gpu);
  const model = lookupModel(input.model);
  const tp = input.tensorParallelSize ?? 1;
  if (model.attentionHeads % tp !== 0) {
    throw new EngineConfigError(
      `${model.attentionHeads} attention heads of ${model.id} do not divide by tensor_parallel_size ${tp}`,
    );
  }
  const large = isLargeGpuForDefaults(gpu);
  const maxNumSeqs = input.maxNumSeqs ?? (large ? 1024 : 256);
  const maxNumBatchedTokens = input.maxNumBatchedTokens ?? (large ? 8192 : 2048);
  const maxModelLen = input.maxModelLen ?? model.maxPositionEmbeddings;
  const blockSize = input.blockSize ?? 16;
  const gpuMemoryUtilization = input.gpuMemoryUtilization ?? 0.9;
  const maxLoras = input.maxLoras ?? 1;
  const calibration: LatencyCalibration = { ...defaultCalibration, ...(input.calibration ?? {}) };

  const totalBytes = gpu.memoryMiB * MiB;
  const budgetBytes = totalBytes * gpuMemoryUtilization;
  const weightBytes = weightBytesPerGpu(model, tp);
  const reserve = activationReserveBytes(model, tp, maxNumBatchedTokens, maxNumSeqs, calibration);
  const perToken = kvBytesPerToken(model, tp);
  const kvCacheBytes = budgetBytes - weightBytes - reserve;

  let numGpuBlocks: number;
  if (input.numGpuBlocksOverride !== undefined) {
    numGpuBlocks = input.numGpuBlocksOverride;
  } else {
    if (kvCacheBytes <= 0) {
      throw new EngineConfigError(
        `no memory left for the KV cache: ${model.id} needs ${(weightBytes / GiB).toFixed(2)} GiB of weights per GPU ` +
          `(TP ${tp}) and ≈${(reserve / GiB).toFixed(2)} GiB of activations, but ${gpu.id} × ${gpuMemoryUtilization} ` +
          `gives ${(budgetBytes / GiB).toFixed(2)} GiB`,
      );
    }
    numGpuBlocks = Math.floor(kvCacheBytes / (blockSize * perToken));
  }
  const kvCacheTokens = numGpuBlocks * blockSize;
  if (kvCacheTokens < maxModelLen) {
    throw new EngineConfigError(
      `the model's max seq len (${maxModelLen}) is larger than the maximum number of tokens that can be stored in KV cache ` +
        `(${kvCacheTokens}); raise gpuMemoryUtilization or lower maxModelLen`,
    );
  }
  return {
    model,
    gpu,
    tensorParallelSize: tp,
    maxNumSeqs,
    maxNumBatchedTokens,
    maxModelLen,
    blockSize,
    gpuMemoryUtilization,
    enablePrefixCaching: input.enablePrefixCaching ?? true,
    enableLora: input.enableLora ?? (input.loraModules?.length ?? 0) > 0,
    loraModules: [...(input.loraModules ?? [])],
    maxLoras,
    maxCpuLoras: Math.max(input.maxCpuLoras ?? maxLoras, maxLoras),
    adapterLoadMs: input.adapterLoadMs ?? 50,
    frontendLatencyMs: input.frontendLatencyMs ?? 0,
    seed: input.seed ?? 0,
    hashSeed: input.hashSeed ?? 0,
    calibration,
    numGpuBlocks,
    kvCacheTokens,
    memory: {
      totalBytes,
      budgetBytes,
      weightBytes,
      activationReserveBytes: reserve,
      kvCacheBytes: numGpuBlocks * blockSize * perToken,
      kvBytesPerToken: perToken,
    },
  };
}
