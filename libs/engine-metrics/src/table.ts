import { type CounterId, type GaugeId, type HistogramId } from './vocabulary';

/**
 * How several series of one wire metric combine into one value: an engine with data-parallel ranks
 * (vLLM's `engine` label, SGLang's `dp_rank`) or per-label splits (SGLang's `is_streaming`,
 * `cache_source`) exposes one series each.
 */
export type Aggregation = 'sum' | 'max' | 'mean';

/** One place a Brix quantity may be read from. */
export interface SourceRef {
  /** Name on the wire: a counter with its `_total`, a gauge, or a histogram's base name. */
  readonly name: string;
  /** Default: `sum` for counters, histograms and gauges alike, unless the table says otherwise. */
  readonly aggregate?: Aggregation;
  /** Multiplier applied after aggregation (for units that differ: percent → ratio, ms → s). */
  readonly scale?: number;
  /** Only series whose labels have these values take part. */
  readonly where?: Readonly<Record<string, string>>;
}

/**
 * An info metric listing LoRA adapters in its label values (vLLM's `vllm:lora_requests_info`).
 * Old label sets linger in the exposition, so the newest series wins: the one with the largest
 * value (the engine sets it to the Unix time of the update).
 */
export interface AdapterInfoRef {
  readonly name: string;
  /** Label holding the comma-joined names of adapters with running requests. */
  readonly runningLabel: string;
  /** Label holding the comma-joined names of adapters with waiting requests. */
  readonly waitingLabel: string;
  /** Label holding the engine's max LoRAs per batch, when it has one. */
  readonly maxLabel?: string;
}

/**
 * How one engine family's wire names map onto the Brix vocabulary. Data, not code: supporting a new
 * engine (or a renamed metric) is a new table or a new candidate, never a new branch.
 *
 * Each id lists candidates in order of preference; the first one present in a scrape is used. That is
 * how current and legacy names coexist (vLLM 0.10 emits both `kv_cache_usage_perc` and the older
 * `gpu_cache_usage_perc`; 0.12 only the first).
 */
export interface EngineMetricTable {
  /** Engine family id, equal to its folder under engines/ ("vllm", "sglang"). */
  readonly id: string;
  /** Metric-name prefixes that identify this engine in a scrape ("vllm:"). */
  readonly prefixes: readonly string[];
  readonly gauges: { readonly [K in GaugeId]?: readonly SourceRef[] };
  readonly counters: { readonly [K in CounterId]?: readonly SourceRef[] };
  readonly histograms: { readonly [K in HistogramId]?: readonly SourceRef[] };
  readonly adapters?: AdapterInfoRef;
}
