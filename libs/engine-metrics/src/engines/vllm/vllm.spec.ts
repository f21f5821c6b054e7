import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parsePrometheusText } from '../../prometheus/parse';
import { standardize } from '../../standardize';
import { createEngineTableRegistry } from '../index';
import { vllmTable } from './vllm';

const fixture = (name: string) => parsePrometheusText(readFileSync(join(__dirname, 'fixtures', name), 'utf8'));

describe('vllm table', () => {
  it.each([
    {
      fixture: 'vllm-0.10.prom',
      // Two data-parallel engines (engine="0" and "1"): counts add up, KV usage is their mean.
      gauges: { requests_running: 12 /* 5 + 7 */, requests_waiting: 3 /* 1 + 2 */, kv_cache_usage: 0.5 /* (0.25 + 0.75) / 2 */ },
      counters: {
        prompt_tokens: 50_000, // 20000 + 30000
        generation_tokens: 20_000, // 8000 + 12000
        prefix_cache_queries: 4000, // 1000 + 3000
        prefix_cache_hits: 1000, // 250 + 750
        preemptions: 3, // 2 + 1
      },
      ttft: { count: 4, sum: 0.6 }, // 0.05 + 0.15 + 0.1 + 0.3
      itl: { count: 4, sum: 0.12, from: 'vllm:time_per_output_token_seconds' }, // only the old name exists in 0.10.0/0.10.1
      kvFrom: 'vllm:kv_cache_usage_perc', // both names exist; the current one wins
      prefixFrom: 'vllm:prefix_cache_queries_total',
      // The newest info series (largest timestamp value) lists sql-lora and chat-lora.
      adapters: { running: ['chat-lora', 'sql-lora'], waiting: ['sql-lora'], maxLoras: 2 },
    },
    {
      fixture: 'vllm-0.11.prom',
      gauges: { requests_running: 9, requests_waiting: 4, kv_cache_usage: 0.6 },
      counters: {
        prompt_tokens: 64_000,
        generation_tokens: 16_000,
        prefix_cache_queries: 8000,
        prefix_cache_hits: 6000,
        preemptions: 3,
      },
      ttft: { count: 4, sum: 2.0 }, // 0.2 + 0.4 + 0.6 + 0.8
      itl: { count: 4, sum: 0.12, from: 'vllm:inter_token_latency_seconds' }, // 0.11 has both; the new name wins
      kvFrom: 'vllm:kv_cache_usage_perc',
      prefixFrom: 'vllm:prefix_cache_queries_total',
      // The newest series has empty lists: the older one naming fin-lora lingers but is stale.
      adapters: { running: [], waiting: [], maxLoras: 4 },
    },
    {
      fixture: 'vllm-0.12.prom',
      gauges: { requests_running: 0, requests_waiting: 0, kv_cache_usage: 0 },
      counters: { prompt_tokens: 0, generation_tokens: 0, prefix_cache_queries: 0, prefix_cache_hits: 0, preemptions: 0 },
      ttft: { count: 0, sum: 0 },
      itl: { count: 0, sum: 0, from: 'vllm:inter_token_latency_seconds' },
      kvFrom: 'vllm:kv_cache_usage_perc',
      prefixFrom: 'vllm:prefix_cache_queries_total',
      adapters: undefined, // started without --enable-lora
    },
  ])('maps $fixture to the Brix vocabulary', (c) => {
    const m = standardize(fixture(c.fixture), vllmTable);
    expect(m.engine).toBe('vllm');
    expect(m.gauges).toMatchObject(c.gauges);
    expect(m.gauges.process_start_time).toBe(1.76409998012e9);
    for (const [id, value] of Object.entries(c.counters)) expect(m.counters[id as keyof typeof m.counters]).toBe(value);
    expect(m.histograms.time_to_first_token?.count).toBe(c.ttft.count);
    expect(m.histograms.time_to_first_token?.sum).toBeCloseTo(c.ttft.sum, 9);
    expect(m.histograms.inter_token_latency?.count).toBe(c.itl.count);
    expect(m.histograms.inter_token_latency?.sum).toBeCloseTo(c.itl.sum, 9);
    expect(m.sources['inter_token_latency']).toBe(c.itl.from);
    expect(m.sources['kv_cache_usage']).toBe(c.kvFrom);
    expect(m.sources['prefix_cache_queries']).toBe(c.prefixFrom);
    expect(m.adapters).toEqual(c.adapters);
  });

  it('falls back to the legacy names when only they are present (0.9-era exposition)', () => {
    const parsed = parsePrometheusText(
      [
        'vllm:num_requests_running{engine="0",model_name="m"} 1',
        'vllm:num_requests_waiting{engine="0",model_name="m"} 0',
        'vllm:gpu_cache_usage_perc{engine="0",model_name="m"} 0.3',
        'vllm:gpu_prefix_cache_queries_total{engine="0",model_name="m"} 100',
        'vllm:gpu_prefix_cache_hits_total{engine="0",model_name="m"} 40',
      ].join('\n'),
    );
    const m = standardize(parsed, vllmTable);
    expect(m.gauges.kv_cache_usage).toBe(0.3);
    expect(m.counters).toMatchObject({ prefix_cache_queries: 100, prefix_cache_hits: 40 });
    expect(m.sources['kv_cache_usage']).toBe('vllm:gpu_cache_usage_perc');
  });

  it.each(['vllm-0.10.prom', 'vllm-0.11.prom', 'vllm-0.12.prom'])('is detected from the names in %s', (name) => {
    expect(createEngineTableRegistry().detect(fixture(name))?.id).toBe('vllm');
  });

  it('merges histogram buckets of data-parallel engines by le', () => {
    const ttft = standardize(fixture('vllm-0.10.prom'), vllmTable).histograms.time_to_first_token!;
    // Observations 0.05, 0.15 (engine 0) and 0.1, 0.3 (engine 1): ≤0.06 holds one, ≤0.1 two, ≤0.25 three.
    const at = (le: number) => ttft.buckets.find((b) => b.le === le)?.count;
    expect([at(0.06), at(0.1), at(0.25), at(0.5), at(Infinity)]).toEqual([1, 2, 3, 4, 4]);
  });
});
