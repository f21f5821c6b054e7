import { type HistogramBucket, type HistogramSeries, type Labels, type ParsedMetrics, type Sample } from './prometheus/parse';
import { type Aggregation, type EngineMetricTable, type SourceRef } from './table';
import { type CounterId, counterIds, type GaugeId, gaugeIds, type HistogramId, histogramIds } from './vocabulary';

/** A histogram after aggregation across series. Buckets are cumulative, sorted by `le`. */
export interface HistogramValue {
  readonly buckets: readonly HistogramBucket[];
  /** Sum of observations, in the vocabulary's unit (seconds). */
  readonly sum: number;
  readonly count: number;
}

export interface AdapterState {
  /** Adapters with running requests, sorted. */
  readonly running: readonly string[];
  /** Adapters with waiting requests, sorted. */
  readonly waiting: readonly string[];
  /** The engine's max LoRAs per batch, when it reports one. */
  readonly maxLoras?: number;
}

/** One scrape in the Brix vocabulary. Absent keys: the engine did not expose that quantity. */
export interface StandardMetrics {
  /** Id of the table that translated the scrape. */
  readonly engine: string;
  readonly gauges: Readonly<Partial<Record<GaugeId, number>>>;
  /** Raw cumulative counter values (rates come from {@link LoadTracker}). */
  readonly counters: Readonly<Partial<Record<CounterId, number>>>;
  readonly histograms: Readonly<Partial<Record<HistogramId, HistogramValue>>>;
  /** Present when the table has an adapter info metric and the scrape carries it. */
  readonly adapters?: AdapterState;
  /** The wire name each quantity was read from, for diagnostics ("which name did 0.10 give us?"). */
  readonly sources: Readonly<Record<string, string>>;
}

function matches(labels: Labels, where: SourceRef['where']): boolean {
  if (!where) return true;
  for (const [k, v] of Object.entries(where)) if (labels[k] !== v) return false;
  return true;
}

function aggregate(values: readonly number[], how: Aggregation): number {
  switch (how) {
    case 'sum':
      return values.reduce((a, b) => a + b, 0);
    case 'max':
      return Math.max(...values);
    case 'mean':
      return values.reduce((a, b) => a + b, 0) / values.length;
  }
}

function readScalar(parsed: ParsedMetrics, refs: readonly SourceRef[] | undefined): [number, string] | undefined {
  for (const ref of refs ?? []) {
    const samples: readonly Sample[] = (parsed.samples.get(ref.name) ?? []).filter(
      (s) => matches(s.labels, ref.where) && !Number.isNaN(s.value),
    );
    if (samples.length === 0) continue;
    const value = aggregate(
      samples.map((s) => s.value),
      ref.aggregate ?? 'sum',
    );
    return [value * (ref.scale ?? 1), ref.name];
  }
  return undefined;
}

function mergeHistograms(series: readonly HistogramSeries[], scale: number): HistogramValue {
  const byLe = new Map<number, number>();
  let sum = 0;
  let count = 0;
  for (const s of series) {
    for (const b of s.buckets) byLe.set(b.le, (byLe.get(b.le) ?? 0) + b.count);
    if (!Number.isNaN(s.sum)) sum += s.sum;
    count += s.count;
  }
  const buckets = [...byLe].map(([le, c]) => ({ le: le === Infinity ? le : le * scale, count: c })).sort((a, b) => a.le - b.le);
  return { buckets, sum: sum * scale, count };
}

function readHistogram(parsed: ParsedMetrics, refs: readonly SourceRef[] | undefined): [HistogramValue, string] | undefined {
  for (const ref of refs ?? []) {
    const series = (parsed.histograms.get(ref.name) ?? []).filter((s) => matches(s.labels, ref.where));
    if (series.length === 0) continue;
    return [mergeHistograms(series, ref.scale ?? 1), ref.name];
  }
  return undefined;
}

function splitNames(value: string | undefined): string[] {
  if (!value) return [];
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

function readAdapters(parsed: ParsedMetrics, table: EngineMetricTable): AdapterState | undefined {
  const ref = table.adapters;
  if (!ref) return undefined;
  const samples = parsed.samples.get(ref.name);
  if (!samples || samples.length === 0) return undefined;
  // Old label sets linger; the newest (largest timestamp value) describes the engine now.
  let newest = samples[0]!;
  for (const s of samples) if (s.value > newest.value) newest = s;
  const max = ref.maxLabel ? Number(newest.labels[ref.maxLabel]) : NaN;
  return {
    running: [...new Set(splitNames(newest.labels[ref.runningLabel]))].sort(),
    waiting: [...new Set(splitNames(newest.labels[ref.waitingLabel]))].sort(),
    ...(Number.isFinite(max) ? { maxLoras: max } : {}),
  };
}

/** Translates one parsed scrape into the Brix vocabulary using `table`. Pure. */
export function standardize(parsed: ParsedMetrics, table: EngineMetricTable): StandardMetrics {
  const sources: Record<string, string> = {};
  const gauges: Partial<Record<GaugeId, number>> = {};
  for (const id of gaugeIds) {
    const read = readScalar(parsed, table.gauges[id]);
    if (read) [gauges[id], sources[id]] = read;
  }
  const counters: Partial<Record<CounterId, number>> = {};
  for (const id of counterIds) {
    const read = readScalar(parsed, table.counters[id]);
    if (read) [counters[id], sources[id]] = read;
  }
  const histograms: Partial<Record<HistogramId, HistogramValue>> = {};
  for (const id of histogramIds) {
    const read = readHistogram(parsed, table.histograms[id]);
    if (read) [histograms[id], sources[id]] = read;
  }
  const adapters = readAdapters(parsed, table);
  if (adapters && table.adapters) sources['adapters'] = table.adapters.name;
  return { engine: table.id, gauges, counters, histograms, ...(adapters ? { adapters } : {}), sources };
}
