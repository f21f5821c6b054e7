import { type Clock } from '@brix/clock';
import {
  type EngineCounters,
  type EngineSnapshot,
  type FinishedRequest,
  requestIntervals,
  type StepRecord,
} from '@brix/engine-model';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { type VllmVersion } from '../config';

/** Bucket boundaries of vLLM's histograms (`vllm/v1/metrics/loggers.py`), seconds unless noted. */
export const VLLM_BUCKETS = {
  ttft: [
    0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0,
    2560.0,
  ],
  interToken: [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0],
  requestLatency: [
    0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0,
  ],
  /** Tokens per step: 1 then powers of two from 8 to 16384. */
  iterationTokens: [1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384],
  paramsN: [1, 2, 5, 10, 20],
} as const;

/** vLLM's `build_1_2_5_buckets(max)`: 1, 2, 5, 10, 20, 50, … up to `max` (token-count histograms). */
export function buckets125(max: number): number[] {
  const out: number[] = [];
  for (let exp = 1; ; exp *= 10) {
    for (const m of [1, 2, 5]) {
      if (m * exp > max) return out;
      out.push(m * exp);
    }
  }
}

export interface VllmMetricsOptions {
  registry: Registry;
  /** The first served model name (vLLM's `model_name` label). */
  modelName: string;
  version: VllmVersion;
  /** vLLM's --show-hidden-metrics-for-version ('' = none). */
  showHiddenMetricsForVersion: string;
  maxModelLen: number;
  /** `vllm:lora_requests_info` exists only when LoRA is on. */
  lora: { enabled: boolean; maxLoras: number };
  /** Label values of `vllm:cache_config_info` (str() of each CacheConfig attribute). */
  cacheConfig: Record<string, string>;
  /** The engine's gauges and counters now. */
  snapshot: () => EngineSnapshot;
  /** Wall clock for `_created` series and the LoRA info value (Unix seconds). */
  wall: Clock;
}

/** Which deprecated names an emulated version still writes (VLLM-PROTOCOL §1 "Renames and removals"). */
export function emittedNameSets(version: VllmVersion, showHidden: string) {
  return {
    // gpu_cache_usage_perc and gpu_prefix_cache_*: both names in 0.10, hidden in 0.11, removed in 0.12.
    legacyCacheNames: version === '0.10' || (version === '0.11' && showHidden === '0.10'),
    // time_per_output_token_seconds: beside inter_token_latency_seconds in 0.10.2 and 0.11, hidden in 0.12.
    timePerOutputToken: version !== '0.12' || showHidden === '0.11',
    // request_time_per_output_token_seconds arrived with 0.11.
    requestTimePerOutputToken: version !== '0.10',
  };
}

type L = 'model_name' | 'engine';

/**
 * vLLM's Prometheus families for one engine, on a prom-client registry: gauges and counters are read from the
 * engine at scrape time; histograms are observed as requests and steps happen. Every series carries
 * `model_name` and `engine="0"` except the two info gauges. Counters and histograms also get the
 * `<name>_created` gauges that Python's prometheus_client writes.
 */
export class VllmMetrics {
  private readonly labels: Record<L, string>;
  private readonly ttft: Histogram<L>;
  private readonly itl: Histogram<L>;
  private readonly tpot: Histogram<L> | null;
  private readonly requestTpot: Histogram<L> | null;
  private readonly e2e: Histogram<L>;
  private readonly queue: Histogram<L>;
  private readonly inference: Histogram<L>;
  private readonly prefill: Histogram<L>;
  private readonly decode: Histogram<L>;
  private readonly promptTokens: Histogram<L>;
  private readonly generationTokens: Histogram<L>;
  private readonly maxGenerationTokens: Histogram<L>;
  private readonly paramsMaxTokens: Histogram<L>;
  private readonly paramsN: Histogram<L>;
  private readonly iterationTokens: Histogram<L>;
  private readonly loraInfo: Gauge<'max_lora' | 'running_lora_adapters' | 'waiting_lora_adapters'> | null;

  constructor(private readonly options: VllmMetricsOptions) {
    const { registry, snapshot, wall } = options;
    const labels = { model_name: options.modelName, engine: '0' };
    this.labels = labels;
    const labelNames: L[] = ['model_name', 'engine'];
    const names = emittedNameSets(options.version, options.showHiddenMetricsForVersion);
    const createdAt = wall.now() / 1000;

    /** The `_created` gauge Python's client writes beside each counter and histogram. */
    const created = (base: string, help: string, extra: Array<Record<string, string>> = [{}]) => {
      const extraNames = Object.keys(extra[0] ?? {});
      const g = new Gauge({ name: `${base}_created`, help, labelNames: [...labelNames, ...extraNames], registers: [registry] });
      for (const e of extra) g.set({ ...labels, ...e }, createdAt);
    };

    const gauge = (name: string, help: string, read: (s: EngineSnapshot) => number) =>
      new Gauge({
        name,
        help,
        labelNames,
        registers: [registry],
        collect() {
          this.set(labels, read(snapshot()));
        },
      });

    /** A counter that follows one engine counter: each scrape adds what the engine counted since the last. */
    const counter = (name: string, help: string, read: (c: EngineCounters) => number) => {
      let last = 0;
      const c = new Counter({
        name,
        help,
        labelNames,
        registers: [registry],
        collect() {
          const now = read(snapshot().counters);
          if (now > last) this.inc(labels, now - last);
          last = now;
        },
      });
      c.inc(labels, 0);
      created(name.replace(/_total$/, ''), help);
    };

    const histogram = (name: string, help: string, buckets: readonly number[]) => {
      const h = new Histogram({ name, help, labelNames, buckets: [...buckets], registers: [registry] });
      h.zero(labels);
      created(name, help);
      return h;
    };

    gauge('vllm:num_requests_running', 'Requests in the model execution batch.', (s) => s.running);
    gauge('vllm:num_requests_waiting', 'Requests waiting to be scheduled.', (s) => s.waiting);
    gauge('vllm:kv_cache_usage_perc', 'KV-cache usage, 0 to 1 (1 = every block held).', (s) => s.kvCacheUsage);
    if (names.legacyCacheNames) {
      gauge(
        'vllm:gpu_cache_usage_perc',
        'GPU KV-cache usage, 0 to 1 (deprecated name of kv_cache_usage_perc).',
        (s) => s.kvCacheUsage,
      );
    }

    counter('vllm:prefix_cache_queries_total', 'Prefix-cache lookups, in tokens.', (c) => c.prefixCacheQueries);
    counter('vllm:prefix_cache_hits_total', 'Prefix-cache hits, in tokens.', (c) => c.prefixCacheHits);
    if (names.legacyCacheNames) {
      counter(
        'vllm:gpu_prefix_cache_queries_total',
        'Prefix-cache lookups, in tokens (deprecated name).',
        (c) => c.prefixCacheQueries,
      );
      counter('vllm:gpu_prefix_cache_hits_total', 'Prefix-cache hits, in tokens (deprecated name).', (c) => c.prefixCacheHits);
    }
    counter('vllm:num_preemptions_total', 'Preemptions by the scheduler, cumulative.', (c) => c.preemptions);
    counter('vllm:prompt_tokens_total', 'Prompt (prefill) tokens processed.', (c) => c.promptTokens);
    counter('vllm:generation_tokens_total', 'Tokens generated.', (c) => c.generationTokens);

    const reasons = ['stop', 'length', 'abort'] as const;
    const successSeen: Partial<Record<(typeof reasons)[number], number>> = {};
    const success = new Counter({
      name: 'vllm:request_success_total',
      help: 'Finished requests, by finish reason.',
      labelNames: [...labelNames, 'finished_reason'],
      registers: [registry],
      collect() {
        const counts = snapshot().counters.requestSuccess;
        for (const r of reasons) {
          const delta = counts[r] - (successSeen[r] ?? 0);
          if (delta > 0) this.inc({ ...labels, finished_reason: r }, delta);
          successSeen[r] = counts[r];
        }
      },
    });
    for (const r of reasons) success.inc({ ...labels, finished_reason: r }, 0);
    created(
      'vllm:request_success',
      'Finished requests, by finish reason.',
      reasons.map((r) => ({ finished_reason: r })),
    );

    this.iterationTokens = histogram(
      'vllm:iteration_tokens_total',
      'Tokens per engine step (prompt tokens of completed prefills plus generated tokens).',
      VLLM_BUCKETS.iterationTokens,
    );
    this.ttft = histogram('vllm:time_to_first_token_seconds', 'Time to first token, seconds.', VLLM_BUCKETS.ttft);
    this.tpot = names.timePerOutputToken
      ? histogram(
          'vllm:time_per_output_token_seconds',
          'Time between output tokens, seconds (deprecated name of inter_token_latency).',
          VLLM_BUCKETS.interToken,
        )
      : null;
    this.itl = histogram('vllm:inter_token_latency_seconds', 'Time between output tokens, seconds.', VLLM_BUCKETS.interToken);
    this.requestTpot = names.requestTimePerOutputToken
      ? histogram(
          'vllm:request_time_per_output_token_seconds',
          "A request's decode time over its output tokens minus one, seconds.",
          VLLM_BUCKETS.interToken,
        )
      : null;
    this.e2e = histogram('vllm:e2e_request_latency_seconds', 'End-to-end request latency, seconds.', VLLM_BUCKETS.requestLatency);
    this.queue = histogram(
      'vllm:request_queue_time_seconds',
      'Time a request waited in the queue, seconds.',
      VLLM_BUCKETS.requestLatency,
    );
    this.inference = histogram(
      'vllm:request_inference_time_seconds',
      'Time from first scheduling to the last token, seconds.',
      VLLM_BUCKETS.requestLatency,
    );
    this.prefill = histogram(
      'vllm:request_prefill_time_seconds',
      'Time from first scheduling to the first token, seconds.',
      VLLM_BUCKETS.requestLatency,
    );
    this.decode = histogram(
      'vllm:request_decode_time_seconds',
      'Time from the first token to the last, seconds.',
      VLLM_BUCKETS.requestLatency,
    );
    const tokenBuckets = buckets125(options.maxModelLen);
    this.promptTokens = histogram('vllm:request_prompt_tokens', 'Prompt tokens per request.', tokenBuckets);
    this.generationTokens = histogram('vllm:request_generation_tokens', 'Generated tokens per request.', tokenBuckets);
    this.maxGenerationTokens = histogram(
      'vllm:request_max_num_generation_tokens',
      'Most tokens generated by one sequence of a request.',
      tokenBuckets,
    );
    this.paramsMaxTokens = histogram('vllm:request_params_max_tokens', 'The max_tokens parameter of requests.', tokenBuckets);
    this.paramsN = histogram('vllm:request_params_n', 'The n parameter of requests.', VLLM_BUCKETS.paramsN);

    if (options.lora.enabled) {
      this.loraInfo = new Gauge({
        name: 'vllm:lora_requests_info',
        help: 'LoRA adapters with running and waiting requests; the value is the Unix time of the update.',
        labelNames: ['max_lora', 'running_lora_adapters', 'waiting_lora_adapters'],
        registers: [registry],
      });
      // Before the first step no adapter has requests.
      this.loraInfo.set(
        { max_lora: String(options.lora.maxLoras), running_lora_adapters: '', waiting_lora_adapters: '' },
        createdAt,
      );
    } else {
      this.loraInfo = null;
    }

    const cacheKeys = Object.keys(options.cacheConfig);
    new Gauge({
      name: 'vllm:cache_config_info',
      help: 'Information of the KV-cache configuration (value 1).',
      labelNames: ['engine', ...cacheKeys],
      registers: [registry],
    }).set({ engine: '0', ...options.cacheConfig }, 1);
  }

  /** A request's first token arrived `seconds` after the request did. */
  observeFirstToken(seconds: number): void {
    this.ttft.observe(this.labels, seconds);
  }

  /** One inter-token interval of a request (vLLM: one observation per request per step). */
  observeInterToken(seconds: number): void {
    this.itl.observe(this.labels, seconds);
    this.tpot?.observe(this.labels, seconds);
  }

  /** A finished request's intervals and sizes; `n` is its `n` parameter. */
  observeFinished(f: FinishedRequest, n = 1): void {
    const i = requestIntervals(f);
    const l = this.labels;
    this.e2e.observe(l, i.e2eMs / 1000);
    if (i.queueMs !== null) this.queue.observe(l, i.queueMs / 1000);
    if (i.prefillMs !== null) this.prefill.observe(l, i.prefillMs / 1000);
    if (i.decodeMs !== null) this.decode.observe(l, i.decodeMs / 1000);
    if (i.inferenceMs !== null) this.inference.observe(l, i.inferenceMs / 1000);
    if (i.tpotMs !== null) this.requestTpot?.observe(l, i.tpotMs / 1000);
    this.promptTokens.observe(l, f.promptTokens);
    this.generationTokens.observe(l, f.outputTokens);
    this.maxGenerationTokens.observe(l, f.outputTokens);
    this.paramsMaxTokens.observe(l, f.maxTokens);
    this.paramsN.observe(l, n);
  }

  /** One engine step: its token count and, with LoRA on, the adapter info (refreshed every step, as vLLM). */
  observeStep(step: StepRecord): void {
    this.iterationTokens.observe(this.labels, step.iterationTokens);
    if (this.loraInfo) this.updateLoraInfo(this.options.snapshot());
  }

  private updateLoraInfo(s: EngineSnapshot): void {
    this.loraInfo?.set(
      {
        max_lora: String(s.lora.maxLoras),
        running_lora_adapters: [...s.lora.running].sort().join(','),
        waiting_lora_adapters: [...s.lora.waiting].sort().join(','),
      },
      this.options.wall.now() / 1000,
    );
  }
}

/**
 * `vllm:cache_config_info` labels: str() of each CacheConfig attribute of vLLM 0.12 (None → "None",
 * booleans "True"/"False"). Attributes engine-sim does not model carry vLLM's defaults.
 */
export function cacheConfigLabels(c: {
  blockSize: number;
  gpuMemoryUtilization: number;
  numGpuBlocks: number;
  numGpuBlocksOverride: number | null;
  enablePrefixCaching: boolean;
}): Record<string, string> {
  const py = (v: unknown) => (v === null ? 'None' : v === true ? 'True' : v === false ? 'False' : String(v));
  return {
    block_size: py(c.blockSize),
    gpu_memory_utilization: py(c.gpuMemoryUtilization),
    swap_space: '4',
    cache_dtype: 'auto',
    is_attention_free: 'False',
    num_gpu_blocks_override: py(c.numGpuBlocksOverride),
    sliding_window: 'None',
    enable_prefix_caching: py(c.enablePrefixCaching),
    prefix_caching_hash_algo: 'sha256',
    cpu_offload_gb: '0',
    calculate_kv_scales: 'False',
    cpu_kvcache_space_bytes: 'None',
    mamba_page_size_padded: 'None',
    mamba_block_size: 'None',
    mamba_cache_dtype: 'auto',
    mamba_ssm_cache_dtype: 'auto',
    num_gpu_blocks: py(c.numGpuBlocks),
    num_cpu_blocks: 'None',
    kv_sharing_fast_prefill: 'False',
    kv_cache_memory_bytes: 'None',
    kv_offloading_size: 'None',
    kv_offloading_backend: 'None',
  };
}
