import { type StandardMetrics } from './standardize';
import {
  adapterVocabulary,
  counterIds,
  counterVocabulary,
  gaugeIds,
  gaugeVocabulary,
  histogramIds,
  histogramVocabulary,
} from './vocabulary';

/** One sample line of an exposition family. `name` may carry a suffix (`_bucket`, `_sum`, `_count`). */
export interface ExpositionSample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** A metric family under its Brix name, ready for any Prometheus writer (prom-client or text). */
export interface ExpositionFamily {
  readonly name: string;
  readonly help: string;
  readonly type: 'gauge' | 'counter' | 'histogram';
  readonly samples: readonly ExpositionSample[];
}

/** Every family name {@link toExposition} can produce, with help and type, in a stable order. */
export function brixFamilies(): ReadonlyArray<Omit<ExpositionFamily, 'samples'>> {
  return [
    ...gaugeIds.map((id) => ({ name: gaugeVocabulary[id].brixName, help: gaugeVocabulary[id].help, type: 'gauge' as const })),
    ...counterIds.map((id) => ({
      name: counterVocabulary[id].brixName,
      help: counterVocabulary[id].help,
      type: 'counter' as const,
    })),
    ...histogramIds.map((id) => ({
      name: histogramVocabulary[id].brixName,
      help: histogramVocabulary[id].help,
      type: 'histogram' as const,
    })),
    { name: adapterVocabulary.active.brixName, help: adapterVocabulary.active.help, type: 'gauge' as const },
    { name: adapterVocabulary.maxLoras.brixName, help: adapterVocabulary.maxLoras.help, type: 'gauge' as const },
  ];
}

const formatLe = (le: number) => (le === Infinity ? '+Inf' : String(le));

/**
 * Renders standardized metrics under Brix names. `labels` (typically model, pod, engine) go on every
 * sample. Families the engine did not report are returned with no samples, so a consumer that
 * registers them once keeps a stable set of names.
 */
export function toExposition(metrics: StandardMetrics | undefined, labels: Readonly<Record<string, string>>): ExpositionFamily[] {
  const families = brixFamilies();
  const byName = new Map<string, ExpositionSample[]>(families.map((f) => [f.name, []]));
  if (metrics) {
    for (const id of gaugeIds) {
      const v = metrics.gauges[id];
      if (v !== undefined)
        byName.get(gaugeVocabulary[id].brixName)!.push({ name: gaugeVocabulary[id].brixName, labels, value: v });
    }
    for (const id of counterIds) {
      const v = metrics.counters[id];
      if (v !== undefined)
        byName.get(counterVocabulary[id].brixName)!.push({ name: counterVocabulary[id].brixName, labels, value: v });
    }
    for (const id of histogramIds) {
      const h = metrics.histograms[id];
      if (!h) continue;
      const name = histogramVocabulary[id].brixName;
      const out = byName.get(name)!;
      const buckets = h.buckets.some((b) => b.le === Infinity) ? h.buckets : [...h.buckets, { le: Infinity, count: h.count }];
      for (const b of buckets) out.push({ name: `${name}_bucket`, labels: { ...labels, le: formatLe(b.le) }, value: b.count });
      out.push({ name: `${name}_sum`, labels, value: h.sum });
      out.push({ name: `${name}_count`, labels, value: h.count });
    }
    if (metrics.adapters) {
      const out = byName.get(adapterVocabulary.active.brixName)!;
      for (const [state, names] of [
        ['running', metrics.adapters.running],
        ['waiting', metrics.adapters.waiting],
      ] as const)
        for (const adapter of names)
          out.push({ name: adapterVocabulary.active.brixName, labels: { ...labels, adapter, state }, value: 1 });
      if (metrics.adapters.maxLoras !== undefined)
        byName
          .get(adapterVocabulary.maxLoras.brixName)!
          .push({ name: adapterVocabulary.maxLoras.brixName, labels, value: metrics.adapters.maxLoras });
    }
  }
  return families.map((f) => ({ ...f, samples: byName.get(f.name)! }));
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/** Writes families as Prometheus text (format 0.0.4). */
export function renderPrometheusText(families: readonly ExpositionFamily[]): string {
  const lines: string[] = [];
  for (const f of families) {
    lines.push(`# HELP ${f.name} ${f.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) {
      const pairs = Object.entries(s.labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
      lines.push(`${s.name}${pairs.length ? `{${pairs.join(',')}}` : ''} ${formatValue(s.value)}`);
    }
  }
  return lines.join('\n') + '\n';
}
