// Public surface of @brix/engine-model: a vLLM V1 engine model (continuous batching, paged KV cache with prefix
// caching, preemption, LoRA slots, roofline step time) that runs on any Clock. See README.md.
export { SimEngine, type SimEngineDeps } from './engine';
export { EngineCore, type EngineCoreOptions, type StepPlan, zeroCounters } from './core/engine-core';
export {
  type EngineCounters,
  type EngineRequest,
  type EngineSnapshot,
  type FinishedRequest,
  type RequestIntervals,
  type RequestObserver,
  type RequestTimings,
  type StepRecord,
  requestIntervals,
} from './core/types';
export {
  EngineConfig,
  EngineConfigError,
  type MemoryPlan,
  type ResolvedEngineConfig,
  activationReserveBytes,
  kvBytesPerToken,
  kvHeadsPerRank,
  lookupGpu,
  lookupModel,
  resolveEngineConfig,
  weightBytesPerGpu,
} from './config';
export { GpuSpec, type GpuId, gpuCatalog, isLargeGpuForDefaults } from './catalog/gpus';
export { ModelSpec, type ModelId, architectureParams, layerLinearParams, lmHeadParams, modelCatalog } from './catalog/models';
export { LatencyCalibration, defaultCalibration } from './latency/calibration';
export { LatencyModel, StepWork, type StepTimeBreakdown } from './latency/step-time';
export { type CapacityEstimate, type ReferenceWorkload, defaultReferenceWorkload, estimateCapacity } from './latency/capacity';
export {
  type FinishReason,
  type OutputLengthSampler,
  type TokenSource,
  decideOutput,
  sharegptLikeOutputLength,
  uniformTokenSource,
} from './output';
export { type KvEvent, type KvEventBatch, toContractKvEvent } from './kv/events';
export { BlockPool } from './kv/block-pool';
export { type Adapter, AdapterSet } from './lora/adapters';
