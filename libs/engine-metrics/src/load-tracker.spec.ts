import { EngineLoad } from '@brix/contracts';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { vllmTable } from './engines';
import { MissingMetricError } from './errors';
import { LoadTracker } from './load-tracker';
import { parsePrometheusText } from './prometheus/parse';
import { standardize, type StandardMetrics } from './standardize';

interface Scrape {
  running?: number;
  waiting?: number;
  kv?: number;
  prompt?: number;
  gen?: number;
  queries?: number;
  hits?: number;
  preempt?: number;
  ttft?: [sum: number, count: number];
  itl?: [sum: number, count: number];
  start?: number;
  hitGauge?: number;
  throughputGauge?: number;
  adapters?: { running: string[]; waiting: string[] };
}

function metrics(s: Scrape): StandardMetrics {
  const counters: Record<string, number> = {};
  if (s.prompt !== undefined) counters['prompt_tokens'] = s.prompt;
  if (s.gen !== undefined) counters['generation_tokens'] = s.gen;
  if (s.queries !== undefined) counters['prefix_cache_queries'] = s.queries;
  if (s.hits !== undefined) counters['prefix_cache_hits'] = s.hits;
  if (s.preempt !== undefined) counters['preemptions'] = s.preempt;
  const histograms: Record<string, { buckets: []; sum: number; count: number }> = {};
  if (s.ttft) histograms['time_to_first_token'] = { buckets: [], sum: s.ttft[0], count: s.ttft[1] };
  if (s.itl) histograms['inter_token_latency'] = { buckets: [], sum: s.itl[0], count: s.itl[1] };
  const gauges: Record<string, number> = {};
  if (s.running !== undefined) gauges['requests_running'] = s.running;
  if (s.waiting !== undefined) gauges['requests_waiting'] = s.waiting;
  if (s.kv !== undefined) gauges['kv_cache_usage'] = s.kv;
  if (s.start !== undefined) gauges['process_start_time'] = s.start;
  if (s.hitGauge !== undefined) gauges['prefix_cache_hit_ratio'] = s.hitGauge;
  if (s.throughputGauge !== undefined) gauges['generation_throughput'] = s.throughputGauge;
  return { engine: 'test', gauges, counters, histograms, sources: {}, ...(s.adapters ? { adapters: s.adapters } : {}) };
}

const base: Scrape = {
  running: 4,
  waiting: 1,
  kv: 0.5,
  prompt: 1000,
  gen: 500,
  queries: 800,
  hits: 200,
  preempt: 0,
  ttft: [1, 10],
  itl: [0.5, 50],
  start: 1.7e9,
};

describe('LoadTracker', () => {
  it('reports gauges at once and zero rates before it has an interval', () => {
    const { snapshot, restarted } = new LoadTracker({ model: 'm', pod: 'p', url: 'http://e:8000' }).update(metrics(base), 1_000);
    expect(restarted).toBe(false);
    expect(snapshot).toEqual({
      v: 1,
      model: 'm',
      pod: 'p',
      url: 'http://e:8000',
      engine: 'test',
      ts: 1_000,
      running: 4,
      waiting: 1,
      kvUsage: 0.5,
      prefixHitRate: null,
      promptTokensPerSec: 0,
      generationTokensPerSec: 0,
      ttftMs: null,
      itlMs: null,
      preemptionsPerSec: 0,
      loadedAdapters: [],
    });
    expect(() => EngineLoad.encode(snapshot)).not.toThrow();
  });

  it.each([
    {
      case: 'steady growth over 500 ms',
      next: { ...base, prompt: 1500, gen: 750, queries: 1200, hits: 500, preempt: 1, ttft: [1.6, 12], itl: [0.9, 60] } as Scrape,
      dtMs: 500,
      want: {
        promptTokensPerSec: 1000, // 500 tokens / 0.5 s
        generationTokensPerSec: 500, // 250 / 0.5 s
        prefixHitRate: 0.75, // (500 - 200) hits / (1200 - 800) queries
        ttftMs: 300, // (1.6 - 1) s / (12 - 10) requests
        itlMs: 40, // (0.9 - 0.5) s / (60 - 50) tokens
        preemptionsPerSec: 2, // 1 / 0.5 s
      },
      restarted: false,
    },
    {
      case: 'an idle interval',
      next: base,
      dtMs: 100,
      want: { promptTokensPerSec: 0, generationTokensPerSec: 0, prefixHitRate: null /* no queries */, ttftMs: null, itlMs: null },
      restarted: false,
    },
    {
      case: 'a restart seen as counters going down',
      next: { ...base, prompt: 300, gen: 100, queries: 200, hits: 50, preempt: 0, ttft: [0.4, 2], itl: [0.1, 10] } as Scrape,
      dtMs: 1000,
      want: {
        promptTokensPerSec: 300, // the new process counted 300 since the previous scrape
        generationTokensPerSec: 100,
        prefixHitRate: 0.25, // 50 / 200
        ttftMs: 200, // 0.4 s / 2
        itlMs: 10, // 0.1 s / 10
      },
      restarted: true,
    },
    {
      case: 'a restart seen only in the process start time (counters already past their old values)',
      next: {
        ...base,
        start: 1.7e9 + 60,
        prompt: 2000,
        gen: 600,
        queries: 900,
        hits: 300,
        ttft: [2, 20],
        itl: [1, 100],
      } as Scrape,
      dtMs: 2000,
      want: {
        promptTokensPerSec: 1000, // 2000 counted by the new process / 2 s, not (2000 - 1000) / 2 s
        generationTokensPerSec: 300, // 600 / 2 s
        prefixHitRate: 1 / 3, // 300 / 900
        ttftMs: 100, // 2 s / 20
        itlMs: 10, // 1 s / 100
      },
      restarted: true,
    },
  ])('computes rates for $case', ({ next, dtMs, want, restarted }) => {
    const tracker = new LoadTracker({ model: 'm', pod: 'p' });
    tracker.update(metrics(base), 10_000);
    const u = tracker.update(metrics(next), 10_000 + dtMs);
    expect(u.restarted).toBe(restarted);
    for (const [k, v] of Object.entries(want)) {
      if (v === null) expect(u.snapshot[k as keyof typeof u.snapshot]).toBeNull();
      else expect(u.snapshot[k as keyof typeof u.snapshot]).toBeCloseTo(v as number, 9);
    }
    for (const k of ['promptTokensPerSec', 'generationTokensPerSec', 'preemptionsPerSec'] as const)
      expect(u.snapshot[k] ?? 0).toBeGreaterThanOrEqual(0);
  });

  it('never reports a negative rate across a restart followed by growth', () => {
    const tracker = new LoadTracker({ model: 'm', pod: 'p' });
    const seq = [1000, 1500, 20, 400, 900];
    const rates = seq.map((prompt, i) => tracker.update(metrics({ ...base, prompt }), i * 1000).snapshot.promptTokensPerSec);
    // 0 (first), 500/s, 20/s (restart: 20 new tokens), 380/s, 500/s
    expect(rates).toEqual([0, 500, 20, 380, 500]);
  });

  it('computes over a window of several scrapes when asked', () => {
    const tracker = new LoadTracker({ model: 'm', pod: 'p', windowMs: 1000 });
    // Prompt tokens arrive in one burst of 1000 at t=200 ms, then nothing.
    const points: Array<[number, number]> = [
      [0, 0],
      [100, 0],
      [200, 1000],
      [300, 1000],
      [1100, 1000],
      [1300, 1000],
    ];
    const rates = points.map(([t, prompt]) => tracker.update(metrics({ ...base, prompt }), t).snapshot.promptTokensPerSec);
    const want = [
      0, // first scrape: no interval yet
      0, // [0, 100]: nothing arrived
      5000, // [0, 200]: 1000 tokens / 0.2 s
      1000 / 0.3, // [0, 300]: the oldest scrape within 1000 ms is still t=0
      1000, // [100, 1100]: t=0 left the window; 1000 tokens / 1 s
      0, // [300, 1300]: the burst is out of the window
    ];
    rates.forEach((r, i) => expect(r).toBeCloseTo(want[i]!, 9));
  });

  it('falls back to engine-computed gauges when the counters are missing', () => {
    const tracker = new LoadTracker({ model: 'm', pod: 'p' });
    const sg: Scrape = { running: 1, waiting: 0, kv: 0.2, hitGauge: 0.31, throughputGauge: 88 };
    expect(tracker.update(metrics(sg), 0).snapshot).toMatchObject({ prefixHitRate: 0.31, generationTokensPerSec: 88 });
    expect(tracker.update(metrics(sg), 100).snapshot).toMatchObject({ prefixHitRate: 0.31, generationTokensPerSec: 88 });
  });

  it('repeats the previous rates when time does not advance', () => {
    const tracker = new LoadTracker({ model: 'm', pod: 'p' });
    tracker.update(metrics(base), 0);
    const first = tracker.update(metrics({ ...base, prompt: 2000 }), 1000).snapshot;
    const again = tracker.update(metrics({ ...base, prompt: 2500, running: 9 }), 1000).snapshot;
    expect(first.promptTokensPerSec).toBe(1000);
    expect(again.promptTokensPerSec).toBe(1000);
    expect(again.running).toBe(9); // gauges are always current
  });

  it.each([
    ['kv usage above 1', { ...base, kv: 1.0000001 }, { kvUsage: 1 }],
    ['kv usage below 0', { ...base, kv: -0.01 }, { kvUsage: 0 }],
    ['fractional counts', { ...base, running: 2.6, waiting: -1 }, { running: 3, waiting: 0 }],
    [
      'adapters in both states',
      { ...base, adapters: { running: ['b', 'a'], waiting: ['a', 'c'] } },
      { loadedAdapters: ['a', 'b', 'c'] },
    ],
  ])('keeps the snapshot within its contract for %s', (_case, scrape, want) => {
    const { snapshot } = new LoadTracker({ model: 'm', pod: 'p' }).update(metrics(scrape), 0);
    expect(snapshot).toMatchObject(want);
    expect(() => EngineLoad.encode(snapshot)).not.toThrow();
  });

  it.each([
    ['running', { ...base, running: undefined }, 'requests_running'],
    ['KV usage', { ...base, kv: undefined }, 'kv_cache_usage'],
    ['KV usage that is NaN', { ...base, kv: NaN }, 'kv_cache_usage'],
  ])('refuses a scrape without %s', (_case, scrape, missing) => {
    const tracker = new LoadTracker({ model: 'm', pod: 'p' });
    expect(() => tracker.update(metrics(scrape), 0)).toThrow(MissingMetricError);
    expect(() => tracker.update(metrics(scrape), 0)).toThrow(missing);
  });

  it('turns two real vLLM expositions into a snapshot end to end', () => {
    const text = readFileSync(join(__dirname, 'engines', 'vllm', 'fixtures', 'vllm-0.11.prom'), 'utf8');
    const later = text
      .replace(/^(vllm:prompt_tokens_total\{[^}]*\}) 64000\.0$/m, '$1 66000.0')
      .replace(/^(vllm:prefix_cache_queries_total\{[^}]*\}) 8000\.0$/m, '$1 9000.0')
      .replace(/^(vllm:prefix_cache_hits_total\{[^}]*\}) 6000\.0$/m, '$1 6900.0');
    const tracker = new LoadTracker({ model: 'meta-llama/Llama-3.1-8B-Instruct', pod: 'engine-0' });
    tracker.update(standardize(parsePrometheusText(text), vllmTable), 0);
    const { snapshot } = tracker.update(standardize(parsePrometheusText(later), vllmTable), 2000);
    expect(snapshot).toMatchObject({
      engine: 'vllm',
      running: 9,
      waiting: 4,
      kvUsage: 0.6,
      promptTokensPerSec: 1000, // 2000 tokens over 2 s
      prefixHitRate: 0.9, // 900 hits / 1000 queries
      loadedAdapters: [],
    });
    expect(() => EngineLoad.encode(snapshot)).not.toThrow();
  });
});
