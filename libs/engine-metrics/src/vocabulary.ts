/**
 * The Brix metric vocabulary: one engine-neutral name per quantity the control plane reads from an
 * engine. Engine tables (engines/<id>/) map each engine's wire names onto these ids; the sidecar
 * re-exposes them under `brixName` on its own /metrics, with labels `model`, `pod` and `engine`.
 *
 * Units are in the names: `_seconds`, `_ratio` (0..1), `_tokens`, `_total` (monotonic counter).
 */

export const gaugeVocabulary = {
  requests_running: {
    brixName: 'brix_engine_requests_running',
    help: 'Requests in the running batch (decoding or prefilling)',
  },
  requests_waiting: {
    brixName: 'brix_engine_requests_waiting',
    help: 'Requests queued and not yet scheduled',
  },
  kv_cache_usage: {
    brixName: 'brix_engine_kv_cache_usage_ratio',
    help: 'Fraction of KV-cache capacity in use, 0..1',
  },
  prefix_cache_hit_ratio: {
    brixName: 'brix_engine_prefix_cache_hit_ratio',
    help: 'Prefix-cache hit ratio as computed by the engine itself (engines without hit/query counters), 0..1',
  },
  generation_throughput: {
    brixName: 'brix_engine_generation_throughput_tokens_per_second',
    help: 'Generation throughput as computed by the engine itself, tokens per second',
  },
  process_start_time: {
    brixName: 'brix_engine_process_start_time_seconds',
    help: 'Start time of the engine process, seconds since the epoch (a change means a restart)',
  },
} as const;

export const counterVocabulary = {
  prompt_tokens: {
    brixName: 'brix_engine_prompt_tokens_total',
    help: 'Prompt tokens processed',
  },
  generation_tokens: {
    brixName: 'brix_engine_generation_tokens_total',
    help: 'Tokens generated',
  },
  prefix_cache_queries: {
    brixName: 'brix_engine_prefix_cache_queries_tokens_total',
    help: 'Prompt tokens looked up in the prefix cache',
  },
  prefix_cache_hits: {
    brixName: 'brix_engine_prefix_cache_hits_tokens_total',
    help: 'Prompt tokens found in the prefix cache',
  },
  preemptions: {
    brixName: 'brix_engine_preemptions_total',
    help: 'Requests preempted (vLLM) or retracted (SGLang) to free KV cache',
  },
} as const;

export const histogramVocabulary = {
  time_to_first_token: {
    brixName: 'brix_engine_time_to_first_token_seconds',
    help: 'Time from request arrival to its first token, seconds',
  },
  inter_token_latency: {
    brixName: 'brix_engine_inter_token_latency_seconds',
    help: 'Time between consecutive output tokens of a request, seconds',
  },
  e2e_request_latency: {
    brixName: 'brix_engine_e2e_request_latency_seconds',
    help: 'Time from request arrival to its last token, seconds',
  },
} as const;

/** Exposition names of the adapter families, which have no single engine source. */
export const adapterVocabulary = {
  active: {
    brixName: 'brix_engine_lora_adapter_active',
    help: 'LoRA adapters the engine reports requests for (1 per adapter and state: running or waiting)',
  },
  maxLoras: {
    brixName: 'brix_engine_lora_max_adapters',
    help: 'LoRA adapters the engine can hold in one batch (max_loras)',
  },
} as const;

export type GaugeId = keyof typeof gaugeVocabulary;
export type CounterId = keyof typeof counterVocabulary;
export type HistogramId = keyof typeof histogramVocabulary;

export const gaugeIds = Object.keys(gaugeVocabulary) as GaugeId[];
export const counterIds = Object.keys(counterVocabulary) as CounterId[];
export const histogramIds = Object.keys(histogramVocabulary) as HistogramId[];
