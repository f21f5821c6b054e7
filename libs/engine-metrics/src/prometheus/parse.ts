/**
 * A parser for the Prometheus text exposition format (0.0.4, as served by prometheus_client in vLLM
 * and SGLang), tolerant of the OpenMetrics additions engines sometimes emit (`# EOF`, exemplars,
 * `_created` series). Pure: text in, data out.
 *
 * Shape of the result:
 * - counters, gauges, untyped and summary parts are kept as samples under their name on the wire
 *   (`vllm:prompt_tokens_total`, `vllm:num_requests_running`);
 * - histograms are grouped per label set under their base name (`vllm:time_to_first_token_seconds`),
 *   with cumulative buckets sorted by `le`, `sum` and `count`;
 * - `_created` series (creation timestamps of counters and histograms) are dropped;
 * - a line that cannot be parsed is reported in `skipped` with its number and reason, and the rest
 *   of the text is still used: one bad line must not blind a scraper to an engine's load.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export type Labels = Readonly<Record<string, string>>;

export interface Sample {
  readonly labels: Labels;
  readonly value: number;
  /** Milliseconds since the epoch, when the exporter stamped the sample. */
  readonly timestampMs?: number;
}

export interface HistogramBucket {
  /** Upper bound (inclusive); `Infinity` for `+Inf`. */
  readonly le: number;
  /** Cumulative count of observations ≤ `le`. */
  readonly count: number;
}

export interface HistogramSeries {
  /** The series' labels, without `le`. */
  readonly labels: Labels;
  /** Sorted by `le` ascending. */
  readonly buckets: readonly HistogramBucket[];
  /** Sum of observations; NaN when the exposition had no `_sum` line. */
  readonly sum: number;
  /** Number of observations; taken from the `+Inf` bucket when the exposition had no `_count` line. */
  readonly count: number;
}

export interface SkippedLine {
  /** 1-based line number. */
  readonly line: number;
  readonly text: string;
  readonly reason: string;
}

export interface ParsedMetrics {
  /** Non-histogram samples by metric name as it appears on the wire. */
  readonly samples: ReadonlyMap<string, readonly Sample[]>;
  /** Histogram series by base name. */
  readonly histograms: ReadonlyMap<string, readonly HistogramSeries[]>;
  /** Declared `# TYPE`s, by family name. */
  readonly types: ReadonlyMap<string, MetricType>;
  readonly help: ReadonlyMap<string, string>;
  readonly skipped: readonly SkippedLine[];
}

interface RawSample {
  /** 1-based line number, for reports of bad lines. */
  line: number;
  name: string;
  labels: Record<string, string>;
  value: number;
  timestampMs?: number;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const TYPES: ReadonlySet<string> = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
// OpenMetrics types that share the grouping of a known type.
const TYPE_ALIASES: Readonly<Record<string, MetricType>> = { gaugehistogram: 'histogram', unknown: 'untyped', info: 'gauge' };

class LineError extends Error {}

/** Parses a float as Prometheus writes them: decimal, exponent, `NaN`, `+Inf`, `-Inf`. */
export function parseFloatValue(text: string): number {
  switch (text) {
    case '+Inf':
    case 'Inf':
    case '+inf':
    case 'inf':
      return Infinity;
    case '-Inf':
    case '-inf':
      return -Infinity;
    case 'NaN':
    case 'nan':
      return NaN;
  }
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new LineError(`"${text}" is not a number`);
  return Number(text);
}

function unescapeHelp(text: string): string {
  return text.replace(/\\(\\|n)/g, (_, c: string) => (c === 'n' ? '\n' : '\\'));
}

/** Reads `{a="x",b="y"}` starting at `pos` (which must be `{`); returns the labels and the position after `}`. */
function readLabels(line: string, pos: number): { labels: Record<string, string>; end: number } {
  const labels: Record<string, string> = {};
  let i = pos + 1;
  for (;;) {
    while (line[i] === ' ' || line[i] === '\t') i++;
    if (line[i] === '}') return { labels, end: i + 1 };
    const name = LABEL_NAME.exec(line.slice(i))?.[0];
    if (!name) throw new LineError(`bad label name at column ${i + 1}`);
    i += name.length;
    while (line[i] === ' ' || line[i] === '\t') i++;
    if (line[i] !== '=') throw new LineError(`expected "=" after label ${name}`);
    i++;
    while (line[i] === ' ' || line[i] === '\t') i++;
    if (line[i] !== '"') throw new LineError(`expected a quoted value for label ${name}`);
    i++;
    let value = '';
    for (;;) {
      const c = line[i];
      if (c === undefined) throw new LineError(`unterminated value of label ${name}`);
      if (c === '"') break;
      if (c === '\\') {
        const next = line[i + 1];
        value += next === 'n' ? '\n' : next === '"' ? '"' : next === '\\' ? '\\' : '\\' + (next ?? '');
        i += 2;
        continue;
      }
      value += c;
      i++;
    }
    i++;
    if (name in labels) throw new LineError(`label ${name} appears twice`);
    labels[name] = value;
    while (line[i] === ' ' || line[i] === '\t') i++;
    if (line[i] === ',') {
      i++;
      continue;
    }
    if (line[i] === '}') return { labels, end: i + 1 };
    throw new LineError(`expected "," or "}" after label ${name}`);
  }
}

function readSample(line: string, lineNumber: number): RawSample {
  const name = METRIC_NAME.exec(line)?.[0];
  if (!name) throw new LineError('does not start with a metric name');
  let i = name.length;
  let labels: Record<string, string> = {};
  if (line[i] === '{') {
    const read = readLabels(line, i);
    labels = read.labels;
    i = read.end;
  }
  let rest = line.slice(i);
  // OpenMetrics exemplar: `value [ts] # {labels} value [ts]`.
  const hash = rest.indexOf(' # ');
  if (hash >= 0) rest = rest.slice(0, hash);
  const parts = rest.trim().split(/\s+/);
  if (parts.length === 0 || parts[0] === '') throw new LineError(`sample ${name} has no value`);
  if (parts.length > 2) throw new LineError(`unexpected text after the value of ${name}`);
  const value = parseFloatValue(parts[0]!);
  const sample: RawSample = { line: lineNumber, name, labels, value };
  if (parts[1] !== undefined) {
    const ts = Number(parts[1]);
    if (!Number.isFinite(ts)) throw new LineError(`bad timestamp "${parts[1]}"`);
    sample.timestampMs = ts;
  }
  return sample;
}

function labelKey(labels: Record<string, string>, omit?: string): string {
  return Object.keys(labels)
    .filter((k) => k !== omit)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join('\u0000');
}

function withoutLabel(labels: Record<string, string>, omit: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) if (k !== omit) out[k] = v;
  return out;
}

const HISTOGRAM_PARTS = ['_bucket', '_sum', '_count', '_gsum', '_gcount'] as const;

function stripSuffix(name: string, suffixes: readonly string[]): [base: string, suffix: string] | undefined {
  for (const s of suffixes) if (name.endsWith(s) && name.length > s.length) return [name.slice(0, -s.length), s];
  return undefined;
}

/** Parses a Prometheus text exposition. Never throws for bad input: bad lines land in `skipped`. */
export function parsePrometheusText(text: string): ParsedMetrics {
  const types = new Map<string, MetricType>();
  const help = new Map<string, string>();
  const raw: RawSample[] = [];
  const skipped: SkippedLine[] = [];

  const lines = text.split(/\r?\n/);
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!.trim();
    if (line === '') continue;
    try {
      if (line.startsWith('#')) {
        const m = /^#\s*(HELP|TYPE|EOF)\b\s*(.*)$/.exec(line);
        if (!m) continue; // a free comment
        if (m[1] === 'EOF') break;
        const body = m[2]!;
        const name = METRIC_NAME.exec(body)?.[0];
        if (!name) throw new LineError(`# ${m[1]} without a metric name`);
        const rest = body.slice(name.length).trim();
        if (m[1] === 'HELP') help.set(name, unescapeHelp(rest));
        else {
          const declared = rest.toLowerCase();
          const type = TYPES.has(declared) ? (declared as MetricType) : TYPE_ALIASES[declared];
          if (!type) throw new LineError(`unknown type "${rest}"`);
          types.set(name, type);
        }
        continue;
      }
      raw.push(readSample(line, n + 1));
    } catch (err) {
      if (!(err instanceof LineError)) throw err;
      skipped.push({ line: n + 1, text: lines[n]!, reason: err.message });
    }
  }

  // Which base names are histograms: declared so, or carrying `_bucket` samples with an `le` label.
  const histogramBases = new Set<string>();
  for (const [name, type] of types) if (type === 'histogram') histogramBases.add(name);
  for (const s of raw) {
    if (s.name.endsWith('_bucket') && 'le' in s.labels) {
      const base = s.name.slice(0, -'_bucket'.length);
      const declared = types.get(base);
      if (declared === undefined || declared === 'histogram' || declared === 'untyped') histogramBases.add(base);
    }
  }
  const counterLike = (base: string) => {
    const t = types.get(base);
    return t === 'counter' || t === 'histogram' || t === 'summary' || types.get(`${base}_total`) === 'counter';
  };
  const wireNames = new Set(raw.map((s) => s.name));

  interface Building {
    labels: Record<string, string>;
    buckets: Map<number, number>;
    sum: number;
    count: number | undefined;
  }
  const building = new Map<string, Map<string, Building>>();
  const samples = new Map<string, Sample[]>();

  for (const s of raw) {
    const part = stripSuffix(s.name, HISTOGRAM_PARTS);
    if (part && histogramBases.has(part[0])) {
      const [base, suffix] = part;
      let series = building.get(base);
      if (!series) building.set(base, (series = new Map()));
      const key = labelKey(s.labels, 'le');
      let b = series.get(key);
      if (!b) series.set(key, (b = { labels: withoutLabel(s.labels, 'le'), buckets: new Map(), sum: NaN, count: undefined }));
      if (suffix === '_bucket') {
        const le = s.labels['le'];
        if (le === undefined) {
          skipped.push({ line: s.line, text: lines[s.line - 1]!, reason: `bucket of ${base} without an "le" label` });
          continue;
        }
        try {
          b.buckets.set(parseFloatValue(le), s.value);
        } catch {
          skipped.push({ line: s.line, text: lines[s.line - 1]!, reason: `bucket of ${base} with a bad le="${le}"` });
        }
      } else if (suffix === '_sum' || suffix === '_gsum') b.sum = s.value;
      else b.count = s.value;
      continue;
    }
    if (s.name.endsWith('_created')) {
      const base = s.name.slice(0, -'_created'.length);
      if (counterLike(base) || histogramBases.has(base) || wireNames.has(`${base}_total`)) continue;
    }
    let list = samples.get(s.name);
    if (!list) samples.set(s.name, (list = []));
    list.push(
      s.timestampMs === undefined
        ? { labels: s.labels, value: s.value }
        : { labels: s.labels, value: s.value, timestampMs: s.timestampMs },
    );
  }

  const histograms = new Map<string, HistogramSeries[]>();
  for (const [base, series] of building) {
    const out: HistogramSeries[] = [];
    for (const b of series.values()) {
      const buckets = [...b.buckets].map(([le, count]) => ({ le, count })).sort((x, y) => x.le - y.le);
      const inf = buckets.find((x) => x.le === Infinity)?.count;
      out.push({ labels: b.labels, buckets, sum: b.sum, count: b.count ?? inf ?? 0 });
    }
    histograms.set(base, out);
  }

  return { samples, histograms, types, help, skipped };
}
