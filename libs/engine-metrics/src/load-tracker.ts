import { type EngineLoadSnapshot } from '@brix/contracts';
import { MissingMetricError } from './errors';
import { type StandardMetrics } from './standardize';
import { type CounterId, counterIds, type HistogramId, histogramIds } from './vocabulary';

export interface LoadTrackerOptions {
  model: string;
  pod: string;
  /** Base URL of the engine's OpenAI-compatible server, copied into snapshots. */
  url?: string;
  gpuType?: string;
  maxNumSeqs?: number;
  /**
   * Rates and interval means are computed over at least the last scrape interval and at most this many
   * milliseconds (the oldest kept scrape not older than this is the baseline). 0 (default): exactly the
   * last interval. A window of a few scrapes smooths the step-wise updates engines make to counters.
   */
  windowMs?: number;
}

export interface LoadUpdate {
  readonly snapshot: EngineLoadSnapshot;
  /** True when this scrape shows the engine restarted since the previous one (counters went back). */
  readonly restarted: boolean;
}

interface Point {
  ts: number;
  counters: Partial<Record<CounterId, number>>;
  histograms: Partial<Record<HistogramId, { sum: number; count: number }>>;
  startTime?: number;
}

type Rates = Pick<
  EngineLoadSnapshot,
  'prefixHitRate' | 'promptTokensPerSec' | 'generationTokensPerSec' | 'ttftMs' | 'itlMs' | 'preemptionsPerSec'
>;

const clamp01 = (v: number) => Math.min(1, Math.max(0, v));
const finite = (v: number | undefined): v is number => v !== undefined && Number.isFinite(v);

/**
 * Turns successive standardized scrapes, each with the time it was taken (injected, epoch ms), into
 * {@link EngineLoadSnapshot}s: gauges as they are, rates and interval means from counter and histogram
 * deltas.
 *
 * Restarts: when any counter or histogram count goes down, or the process start time changes, the
 * engine restarted; everything it counted since then happened within the last interval, so the
 * current values are the deltas (the convention of Prometheus' `rate()`), and no rate is ever negative.
 * When time does not advance between two scrapes, the previous rates are repeated.
 */
export class LoadTracker {
  private history: Point[] = [];
  private lastRates: Rates | undefined;

  constructor(private readonly options: LoadTrackerOptions) {}

  /** Forgets every previous scrape (the next update is treated as the first). */
  reset(): void {
    this.history = [];
    this.lastRates = undefined;
  }

  update(metrics: StandardMetrics, tsMs: number): LoadUpdate {
    const { gauges } = metrics;
    const missing = (['requests_running', 'requests_waiting', 'kv_cache_usage'] as const).filter((id) => !finite(gauges[id]));
    if (missing.length > 0) throw new MissingMetricError(metrics.engine, missing);

    const point: Point = {
      ts: tsMs,
      counters: { ...metrics.counters },
      histograms: Object.fromEntries(
        Object.entries(metrics.histograms).map(([id, h]) => [id, { sum: h.sum, count: h.count }]),
      ) as Point['histograms'],
      ...(finite(gauges.process_start_time) ? { startTime: gauges.process_start_time } : {}),
    };

    const previous = this.history.at(-1);
    let restarted = false;
    let rates: Rates;
    if (!previous) {
      rates = this.firstRates(metrics);
      this.history.push(point);
    } else if (tsMs <= previous.ts) {
      // No interval to measure over: repeat the last rates, unless the engine restarted meanwhile.
      restarted = this.isRestart(previous, point);
      if (restarted) this.history = [point];
      rates = restarted ? this.firstRates(metrics) : (this.lastRates ?? this.firstRates(metrics));
    } else {
      restarted = this.isRestart(previous, point);
      let base: Point;
      if (restarted) {
        // Everything counted by the new process happened after the previous scrape.
        base = { ts: previous.ts, counters: {}, histograms: {} };
        this.history = [];
      } else {
        const windowMs = this.options.windowMs ?? 0;
        const idx = this.history.findIndex((p) => tsMs - p.ts <= windowMs);
        const from = idx === -1 ? this.history.length - 1 : idx;
        this.history = this.history.slice(from);
        base = this.history[0]!;
      }
      this.history.push(point);
      rates = this.rates(base, point, metrics);
    }
    this.lastRates = rates;

    const snapshot: EngineLoadSnapshot = {
      v: 1,
      model: this.options.model,
      pod: this.options.pod,
      ...(this.options.url !== undefined ? { url: this.options.url } : {}),
      engine: metrics.engine,
      ts: tsMs,
      running: Math.max(0, Math.round(gauges.requests_running!)),
      waiting: Math.max(0, Math.round(gauges.requests_waiting!)),
      kvUsage: clamp01(gauges.kv_cache_usage!),
      ...rates,
      loadedAdapters: metrics.adapters ? [...new Set([...metrics.adapters.running, ...metrics.adapters.waiting])].sort() : [],
      ...(this.options.maxNumSeqs !== undefined ? { maxNumSeqs: this.options.maxNumSeqs } : {}),
      ...(this.options.gpuType !== undefined ? { gpuType: this.options.gpuType } : {}),
    };
    return { snapshot, restarted };
  }

  private isRestart(prev: Point, cur: Point): boolean {
    if (prev.startTime !== undefined && cur.startTime !== undefined && prev.startTime !== cur.startTime) return true;
    for (const id of counterIds) {
      const a = prev.counters[id];
      const b = cur.counters[id];
      if (a !== undefined && b !== undefined && b < a) return true;
    }
    for (const id of histogramIds) {
      const a = prev.histograms[id];
      const b = cur.histograms[id];
      if (a !== undefined && b !== undefined && b.count < a.count) return true;
    }
    return false;
  }

  /** Without a previous scrape there is no interval: rates are 0 and ratios come from engine gauges. */
  private firstRates(metrics: StandardMetrics): Rates {
    const hit = metrics.gauges.prefix_cache_hit_ratio;
    const throughput = metrics.gauges.generation_throughput;
    return {
      prefixHitRate: finite(hit) ? clamp01(hit) : null,
      promptTokensPerSec: 0,
      generationTokensPerSec: finite(throughput) ? Math.max(0, throughput) : 0,
      ttftMs: null,
      itlMs: null,
      ...(metrics.counters.preemptions !== undefined ? { preemptionsPerSec: 0 } : {}),
    };
  }

  private rates(base: Point, cur: Point, metrics: StandardMetrics): Rates {
    const seconds = (cur.ts - base.ts) / 1000;
    // A counter absent from the baseline (first seen now, or after a restart) counts from zero.
    const delta = (id: CounterId): number | undefined => {
      const b = cur.counters[id];
      if (b === undefined) return undefined;
      return Math.max(0, b - (base.counters[id] ?? 0));
    };
    const meanMs = (id: HistogramId): number | null => {
      const h = cur.histograms[id];
      if (!h) return null;
      const b = base.histograms[id] ?? { sum: 0, count: 0 };
      const count = h.count - b.count;
      const sum = h.sum - b.sum;
      return count > 0 && Number.isFinite(sum) ? Math.max(0, (sum / count) * 1000) : null;
    };

    const queries = delta('prefix_cache_queries');
    const hits = delta('prefix_cache_hits');
    let prefixHitRate: number | null = null;
    if (queries !== undefined && hits !== undefined) prefixHitRate = queries > 0 ? clamp01(hits / queries) : null;
    else if (finite(metrics.gauges.prefix_cache_hit_ratio)) prefixHitRate = clamp01(metrics.gauges.prefix_cache_hit_ratio);

    const prompt = delta('prompt_tokens');
    const generation = delta('generation_tokens');
    const throughput = metrics.gauges.generation_throughput;
    const preemptions = delta('preemptions');
    return {
      prefixHitRate,
      promptTokensPerSec: prompt !== undefined ? prompt / seconds : 0,
      generationTokensPerSec: generation !== undefined ? generation / seconds : finite(throughput) ? Math.max(0, throughput) : 0,
      ttftMs: meanMs('time_to_first_token'),
      itlMs: meanMs('inter_token_latency'),
      ...(preemptions !== undefined ? { preemptionsPerSec: preemptions / seconds } : {}),
    };
  }
}
