import { type EngineMetricTable } from '../../table';

/**
 * SGLang (`--enable-metrics`). Series carry `model_name`, and depending on version and flags
 * `is_streaming` (token counters, TTFT), `cache_source` (cached tokens) or rank labels; every split is
 * summed, and the token-usage ratio averaged over ranks.
 *
 * Prefix cache: SGLang counts prompt tokens and, separately, prompt tokens served from the cache
 * (`sglang:cached_tokens_total`, split by `cache_source` device/host/storage in recent versions), so
 * hits / queries over an interval is cached / prompt tokens. Versions without the cached-token counter
 * only offer the engine's own `sglang:cache_hit_rate` gauge, used as a fallback by the load tracker.
 */
export const sglangTable: EngineMetricTable = {
  id: 'sglang',
  prefixes: ['sglang:'],
  gauges: {
    requests_running: [{ name: 'sglang:num_running_reqs', aggregate: 'sum' }],
    requests_waiting: [{ name: 'sglang:num_queue_reqs', aggregate: 'sum' }],
    kv_cache_usage: [{ name: 'sglang:token_usage', aggregate: 'mean' }],
    prefix_cache_hit_ratio: [{ name: 'sglang:cache_hit_rate', aggregate: 'mean' }],
    generation_throughput: [{ name: 'sglang:gen_throughput', aggregate: 'sum' }],
    process_start_time: [{ name: 'process_start_time_seconds', aggregate: 'max' }],
  },
  counters: {
    prompt_tokens: [{ name: 'sglang:prompt_tokens_total' }],
    generation_tokens: [{ name: 'sglang:generation_tokens_total' }],
    prefix_cache_queries: [{ name: 'sglang:prompt_tokens_total' }],
    prefix_cache_hits: [{ name: 'sglang:cached_tokens_total' }],
    preemptions: [{ name: 'sglang:num_retracted_requests_total' }],
  },
  histograms: {
    time_to_first_token: [{ name: 'sglang:time_to_first_token_seconds' }],
    // Older releases named the inter-token histogram time_per_output_token.
    inter_token_latency: [{ name: 'sglang:inter_token_latency_seconds' }, { name: 'sglang:time_per_output_token_seconds' }],
    e2e_request_latency: [{ name: 'sglang:e2e_request_latency_seconds' }],
  },
};
