import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parsePrometheusText } from '../../prometheus/parse';
import { standardize } from '../../standardize';
import { createEngineTableRegistry } from '../index';
import { vllmTable } from '../vllm/vllm';
import { sglangTable } from './sglang';

const text = readFileSync(join(__dirname, 'fixtures', 'sglang.prom'), 'utf8');

describe('sglang table', () => {
  it('maps the SGLang exposition to the same vocabulary as vLLM', () => {
    const m = standardize(parsePrometheusText(text), sglangTable);
    expect(m.engine).toBe('sglang');
    expect(m.gauges).toEqual({
      requests_running: 12,
      requests_waiting: 3,
      kv_cache_usage: 0.5,
      prefix_cache_hit_ratio: 0.31,
      generation_throughput: 1234.5,
      process_start_time: 1.76409998012e9,
    });
    expect(m.counters).toEqual({
      prompt_tokens: 50_000, // is_streaming false 15000 + true 35000
      generation_tokens: 20_000, // 5000 + 15000
      prefix_cache_queries: 50_000, // every prompt token is looked up
      prefix_cache_hits: 4000, // cache_source device 3500 + host 500
      preemptions: 3, // retracted requests
    });
    expect(m.histograms.time_to_first_token).toMatchObject({ count: 4 }); // two series split by is_streaming
    expect(m.histograms.time_to_first_token?.sum).toBeCloseTo(1.2, 9); // 0.3 + 0.5 + 0.1 + 0.3
    expect(m.histograms.inter_token_latency?.sum).toBeCloseTo(0.12, 9); // 0.02 + 0.04 + 0.03 + 0.03
    expect(m.adapters).toBeUndefined();
  });

  it('produces the same set of vocabulary ids as the vLLM 0.12 table, plus its own rate gauges', () => {
    const vllm = standardize(
      parsePrometheusText(readFileSync(join(__dirname, '..', 'vllm', 'fixtures', 'vllm-0.12.prom'), 'utf8')),
      vllmTable,
    );
    const sglang = standardize(parsePrometheusText(text), sglangTable);
    expect(Object.keys(sglang.counters).sort()).toEqual(Object.keys(vllm.counters).sort());
    expect(Object.keys(sglang.histograms).sort()).toEqual(Object.keys(vllm.histograms).sort());
    expect(Object.keys(sglang.gauges).sort()).toEqual(
      [...Object.keys(vllm.gauges), 'prefix_cache_hit_ratio', 'generation_throughput'].sort(),
    );
  });

  it('reads the older time_per_output_token histogram when inter_token_latency is absent', () => {
    const old = [
      'sglang:num_running_reqs{model_name="m"} 1',
      'sglang:time_per_output_token_seconds_bucket{model_name="m",le="+Inf"} 2',
      'sglang:time_per_output_token_seconds_sum{model_name="m"} 0.05',
      'sglang:time_per_output_token_seconds_count{model_name="m"} 2',
    ].join('\n');
    const m = standardize(parsePrometheusText(old), sglangTable);
    expect(m.histograms.inter_token_latency).toMatchObject({ sum: 0.05, count: 2 });
    expect(m.sources['inter_token_latency']).toBe('sglang:time_per_output_token_seconds');
  });

  it('is detected from its names', () => {
    expect(createEngineTableRegistry().detect(parsePrometheusText(text))?.id).toBe('sglang');
  });
});
