import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sglangTable, vllmTable } from './engines';
import { brixFamilies, renderPrometheusText, toExposition } from './exposition';
import { parsePrometheusText } from './prometheus/parse';
import { standardize } from './standardize';

const fixture = (engine: string, file: string) =>
  parsePrometheusText(readFileSync(join(__dirname, 'engines', engine, 'fixtures', file), 'utf8'));
const labels = { model: 'llama', pod: 'engine-0', engine: 'vllm' };

describe('toExposition', () => {
  it('renders vLLM metrics under Brix names that parse back to the same values', () => {
    const text = renderPrometheusText(toExposition(standardize(fixture('vllm', 'vllm-0.10.prom'), vllmTable), labels));
    const back = parsePrometheusText(text);
    expect(back.skipped).toEqual([]);
    const one = (name: string) => back.samples.get(name)?.[0];
    expect(one('brix_engine_requests_running')).toEqual({ labels, value: 12 });
    expect(one('brix_engine_kv_cache_usage_ratio')?.value).toBe(0.5);
    expect(one('brix_engine_prompt_tokens_total')?.value).toBe(50_000);
    expect(one('brix_engine_prefix_cache_hits_tokens_total')?.value).toBe(1000);
    expect(back.types.get('brix_engine_prompt_tokens_total')).toBe('counter');
    const ttft = back.histograms.get('brix_engine_time_to_first_token_seconds')?.[0];
    expect(ttft?.labels).toEqual(labels);
    expect(ttft?.count).toBe(4);
    expect(ttft?.buckets.at(-1)).toEqual({ le: Infinity, count: 4 });
    expect(back.samples.get('brix_engine_lora_adapter_active')?.map((s) => [s.labels['adapter'], s.labels['state']])).toEqual([
      ['chat-lora', 'running'],
      ['sql-lora', 'running'],
      ['sql-lora', 'waiting'],
    ]);
    expect(one('brix_engine_lora_max_adapters')?.value).toBe(2);
  });

  it('gives vLLM and SGLang the same family names', () => {
    const names = (f: ReturnType<typeof toExposition>) => f.filter((x) => x.samples.length > 0).map((x) => x.name);
    const v = names(toExposition(standardize(fixture('vllm', 'vllm-0.12.prom'), vllmTable), labels));
    const s = names(toExposition(standardize(fixture('sglang', 'sglang.prom'), sglangTable), labels));
    // SGLang adds the two ratios it computes itself; everything vLLM reports, SGLang reports under the same name.
    expect(s.filter((n) => !v.includes(n)).sort()).toEqual([
      'brix_engine_generation_throughput_tokens_per_second',
      'brix_engine_prefix_cache_hit_ratio',
    ]);
    expect(v.filter((n) => !s.includes(n))).toEqual([]);
  });

  it('lists every family, without samples, before the first scrape', () => {
    const families = toExposition(undefined, labels);
    expect(families.map((f) => f.name)).toEqual(brixFamilies().map((f) => f.name));
    expect(families.every((f) => f.samples.length === 0)).toBe(true);
  });

  it('escapes label values', () => {
    const text = renderPrometheusText([
      { name: 'x', help: 'h', type: 'gauge', samples: [{ name: 'x', labels: { a: 'q"b\\n\nz' }, value: NaN }] },
    ]);
    expect(text).toContain('x{a="q\\"b\\\\n\\nz"} NaN');
    expect(parsePrometheusText(text).samples.get('x')?.[0]?.labels['a']).toBe('q"b\\n\nz');
  });
});
