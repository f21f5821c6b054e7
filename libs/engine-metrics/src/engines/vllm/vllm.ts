import { type EngineMetricTable } from '../../table';

/**
 * vLLM (V1 engine, 0.10–0.12 and later). Every series carries `model_name` and `engine` (the
 * data-parallel engine index), so counts and counters are summed over engines and KV usage averaged.
 * Current names come first; legacy names follow for versions that still emit only those.
 */
export const vllmTable: EngineMetricTable = {
  id: 'vllm',
  prefixes: ['vllm:'],
  gauges: {
    requests_running: [{ name: 'vllm:num_requests_running', aggregate: 'sum' }],
    requests_waiting: [{ name: 'vllm:num_requests_waiting', aggregate: 'sum' }],
    // Renamed in 0.9.2 (0.10 emits both, 0.11 hides the old one, ≈0.12 removes it).
    kv_cache_usage: [
      { name: 'vllm:kv_cache_usage_perc', aggregate: 'mean' },
      { name: 'vllm:gpu_cache_usage_perc', aggregate: 'mean' },
    ],
    process_start_time: [{ name: 'process_start_time_seconds', aggregate: 'max' }],
  },
  counters: {
    prompt_tokens: [{ name: 'vllm:prompt_tokens_total' }],
    generation_tokens: [{ name: 'vllm:generation_tokens_total' }],
    // Counted in tokens, per new request. Same rename history as the KV usage gauge.
    prefix_cache_queries: [{ name: 'vllm:prefix_cache_queries_total' }, { name: 'vllm:gpu_prefix_cache_queries_total' }],
    prefix_cache_hits: [{ name: 'vllm:prefix_cache_hits_total' }, { name: 'vllm:gpu_prefix_cache_hits_total' }],
    preemptions: [{ name: 'vllm:num_preemptions_total' }],
  },
  histograms: {
    time_to_first_token: [{ name: 'vllm:time_to_first_token_seconds' }],
    // inter_token_latency replaced time_per_output_token (#24110); both carry the same observations
    // while they coexist, and 0.10.0/0.10.1 only have the older one.
    inter_token_latency: [{ name: 'vllm:inter_token_latency_seconds' }, { name: 'vllm:time_per_output_token_seconds' }],
    e2e_request_latency: [{ name: 'vllm:e2e_request_latency_seconds' }],
  },
  adapters: {
    name: 'vllm:lora_requests_info',
    runningLabel: 'running_lora_adapters',
    waitingLabel: 'waiting_lora_adapters',
    maxLabel: 'max_lora',
  },
};
