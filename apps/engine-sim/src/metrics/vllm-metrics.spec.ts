import { parsePrometheusText, standardize, vllmTable } from '@brix/engine-metrics';
import { waitFor } from '@brix/testing';
import { chatPromptTokens, llama3Tokenizer } from '@brix/tokenizer';
import { type Harness, MODEL, buckets, chatBody, scrape, startHarness, value } from '../testing/harness';
import { VLLM_BUCKETS, buckets125, emittedNameSets } from './vllm-metrics';

describe('buckets125', () => {
  it.each([
    // vLLM's build_1_2_5_buckets: 1, 2, 5 per decade while ≤ max
    { max: 100, expected: [1, 2, 5, 10, 20, 50, 100] },
    { max: 2048, expected: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000] },
    { max: 1, expected: [1] },
  ])('up to $max', ({ max, expected }) => {
    expect(buckets125(max)).toEqual(expected);
  });
});

describe('emittedNameSets', () => {
  it.each([
    // 0.10 emits old and new names side by side
    { version: '0.10', hidden: '', legacy: true, tpot: true, requestTpot: false },
    // 0.11 hides the old cache names unless --show-hidden-metrics-for-version=0.10
    { version: '0.11', hidden: '', legacy: false, tpot: true, requestTpot: true },
    { version: '0.11', hidden: '0.10', legacy: true, tpot: true, requestTpot: true },
    // 0.12 removed the old cache names and hides time_per_output_token unless asked for 0.11's
    { version: '0.12', hidden: '', legacy: false, tpot: false, requestTpot: true },
    { version: '0.12', hidden: '0.11', legacy: false, tpot: true, requestTpot: true },
    { version: '0.12', hidden: '0.10', legacy: false, tpot: false, requestTpot: true },
  ] as const)('$version with hidden=$hidden', ({ version, hidden, legacy, tpot, requestTpot }) => {
    expect(emittedNameSets(version, hidden)).toEqual({
      legacyCacheNames: legacy,
      timePerOutputToken: tpot,
      requestTimePerOutputToken: requestTpot,
    });
  });
});

const ALWAYS = [
  'vllm:num_requests_running',
  'vllm:num_requests_waiting',
  'vllm:kv_cache_usage_perc',
  'vllm:prefix_cache_queries_total',
  'vllm:prefix_cache_hits_total',
  'vllm:prompt_tokens_total',
  'vllm:generation_tokens_total',
  'vllm:num_preemptions_total',
  'vllm:request_success_total',
  'vllm:iteration_tokens_total',
  'vllm:time_to_first_token_seconds',
  'vllm:inter_token_latency_seconds',
  'vllm:e2e_request_latency_seconds',
  'vllm:request_queue_time_seconds',
  'vllm:request_prefill_time_seconds',
  'vllm:request_decode_time_seconds',
  'vllm:request_inference_time_seconds',
  'vllm:request_prompt_tokens',
  'vllm:request_generation_tokens',
  'vllm:request_params_max_tokens',
  'vllm:request_params_n',
  'vllm:cache_config_info',
];
const LEGACY = ['vllm:gpu_cache_usage_perc', 'vllm:gpu_prefix_cache_queries_total', 'vllm:gpu_prefix_cache_hits_total'];

describe('vLLM metrics on /metrics', () => {
  const open: Harness[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((h) => h.app.close()));
  });
  const harness = async (...args: Parameters<typeof startHarness>) => {
    const h = await startHarness(...args);
    open.push(h);
    return h;
  };

  it.each([
    { version: '0.10', present: [...LEGACY, 'vllm:time_per_output_token_seconds'], absent: [] },
    {
      version: '0.11',
      present: ['vllm:time_per_output_token_seconds', 'vllm:request_time_per_output_token_seconds'],
      absent: LEGACY,
    },
    {
      version: '0.12',
      present: ['vllm:request_time_per_output_token_seconds'],
      absent: [...LEGACY, 'vllm:time_per_output_token_seconds'],
    },
  ] as const)('writes vLLM $version names, parseable by a Prometheus text parser', async ({ version, present, absent }) => {
    const h = await harness({ settings: { vllmVersion: version } });
    const m = await scrape(h.app);
    for (const name of [...ALWAYS, ...present]) expect(m.has(name)).toBe(true);
    for (const name of absent) expect(m.has(name)).toBe(false);
    // Every vllm:* series but the info gauges carries model_name and engine="0" (the `_created` gauges too).
    for (const [name, f] of m) {
      if (!name.startsWith('vllm:') || name.endsWith('_info') || f.type === 'HISTOGRAM') continue;
      for (const s of f.metrics) expect(s.labels).toMatchObject({ model_name: MODEL, engine: '0' });
    }
  });

  it('uses vLLM’s exact bucket boundaries', async () => {
    const h = await harness();
    const m = await scrape(h.app);
    const les = (name: string) =>
      Object.keys(buckets(m, name))
        .filter((le) => le !== '+Inf')
        .map(Number)
        .sort((a, b) => a - b);
    expect(les('vllm:time_to_first_token_seconds')).toEqual([...VLLM_BUCKETS.ttft]);
    expect(les('vllm:inter_token_latency_seconds')).toEqual([...VLLM_BUCKETS.interToken]);
    expect(les('vllm:time_per_output_token_seconds')).toEqual([...VLLM_BUCKETS.interToken]);
    for (const name of [
      'vllm:e2e_request_latency_seconds',
      'vllm:request_queue_time_seconds',
      'vllm:request_prefill_time_seconds',
      'vllm:request_decode_time_seconds',
      'vllm:request_inference_time_seconds',
    ]) {
      expect(les(name)).toEqual([...VLLM_BUCKETS.requestLatency]);
    }
    expect(les('vllm:iteration_tokens_total')).toEqual([...VLLM_BUCKETS.iterationTokens]);
    // max_model_len 2048 in the test engine
    expect(les('vllm:request_prompt_tokens')).toEqual(buckets125(2048));
    expect(les('vllm:request_params_n')).toEqual([...VLLM_BUCKETS.paramsN]);
  });

  it('counts tokens and requests as vLLM does, and the histograms see every request', async () => {
    const h = await harness();
    const contents = ['first question', 'a second, longer question about caches'];
    for (const c of contents) {
      await h.app.inject({
        method: 'POST',
        url: '/v1/chat/completions',
        payload: chatBody(c, { max_tokens: 5, ignore_eos: true }),
      });
    }
    await h.app.inject({ method: 'POST', url: '/v1/chat/completions', payload: chatBody('third', { max_tokens: 2000 }) });
    const m = await scrape(h.app);
    const prompt = [...contents, 'third'].reduce(
      (s, c) => s + chatPromptTokens(llama3Tokenizer, [{ role: 'user', content: c }]).length,
      0,
    );
    expect(value(m, 'vllm:prompt_tokens_total')).toBe(prompt);
    expect(value(m, 'vllm:request_success_total', { finished_reason: 'length' })).toBe(2);
    // the third ends on EOS: its sampled natural length (median 120) is far below 2000
    expect(value(m, 'vllm:request_success_total', { finished_reason: 'stop' })).toBe(1);
    expect(value(m, 'vllm:request_success_total', { finished_reason: 'abort' })).toBe(0);
    const generated = value(m, 'vllm:generation_tokens_total');
    expect(generated).toBeGreaterThan(10);
    expect(buckets(m, 'vllm:time_to_first_token_seconds')['+Inf']).toBe(3);
    expect(buckets(m, 'vllm:e2e_request_latency_seconds')['+Inf']).toBe(3);
    // one ITL observation per token after each request's first
    expect(buckets(m, 'vllm:inter_token_latency_seconds')['+Inf']).toBe(generated - 3);
    expect(buckets(m, 'vllm:request_generation_tokens')['+Inf']).toBe(3);
    // TTFT includes the 20 ms frontend latency, so no observation lands in the ≤ 10 ms buckets
    expect(buckets(m, 'vllm:time_to_first_token_seconds')['0.01']).toBe(0);
    // iteration tokens sum to prompt tokens of completed prefills plus generated tokens
    const text = (await h.app.inject({ method: 'GET', url: '/metrics' })).body;
    const parsed = parsePrometheusText(text);
    expect(parsed.skipped).toEqual([]);
    expect(parsed.histograms.get('vllm:iteration_tokens_total')![0]!.sum).toBe(prompt + generated);
  });

  it('moves running, waiting and KV usage with load, and ai-runtime’s vLLM table reads them', async () => {
    // Real time (scale 1) so requests stay in flight; at most 2 run at once, so the rest wait.
    const h = await harness({ timeScale: 1, engine: { maxNumSeqs: 2 } });
    const requests = [0, 1, 2, 3, 4].map((i) =>
      h.app.inject({
        method: 'POST',
        url: '/v1/chat/completions',
        payload: chatBody(`load ${i}`, { max_tokens: 150, ignore_eos: true }),
      }),
    );
    const busy = await waitFor(async () => {
      const m = await scrape(h.app);
      return value(m, 'vllm:num_requests_running') === 2 && value(m, 'vllm:num_requests_waiting') === 3 ? m : undefined;
    }, '2 running and 3 waiting');
    expect(value(busy, 'vllm:kv_cache_usage_perc')).toBeGreaterThan(0);
    expect(value(busy, 'vllm:kv_cache_usage_perc')).toBeLessThanOrEqual(1);
    const std = standardize(parsePrometheusText((await h.app.inject({ method: 'GET', url: '/metrics' })).body), vllmTable);
    expect(std.gauges.requests_running).toBeGreaterThan(0);
    expect(std.sources.kv_cache_usage).toBe('vllm:kv_cache_usage_perc');

    await Promise.all(requests);
    const idle = await scrape(h.app);
    expect(value(idle, 'vllm:num_requests_running')).toBe(0);
    expect(value(idle, 'vllm:num_requests_waiting')).toBe(0);
    expect(value(idle, 'vllm:kv_cache_usage_perc')).toBe(0);
    // 5 requests × 150 tokens
    expect(value(idle, 'vllm:generation_tokens_total')).toBe(750);
    // Requests that waited for a slot spent time in the queue.
    const queue = parsePrometheusText((await h.app.inject({ method: 'GET', url: '/metrics' })).body).histograms.get(
      'vllm:request_queue_time_seconds',
    )![0]!;
    expect(queue.count).toBe(5);
    expect(queue.sum).toBeGreaterThan(0);
  }, 60_000);

  it('reports LoRA adapters in vllm:lora_requests_info with the update time as value', async () => {
    const h = await harness({
      timeScale: 1,
      settings: { loraModules: [{ name: 'a', path: '/a' }] },
      engine: { enableLora: true, maxLoras: 2 },
    });
    const before = await scrape(h.app);
    expect(before.get('vllm:lora_requests_info')!.metrics).toEqual([
      { labels: { max_lora: '2', running_lora_adapters: '', waiting_lora_adapters: '' }, value: '1764100000' },
    ]);
    const req = h.app.inject({
      method: 'POST',
      url: '/v1/completions',
      payload: { model: 'a', prompt: 'x', max_tokens: 100, ignore_eos: true },
    });
    await waitFor(
      async () =>
        (await scrape(h.app)).get('vllm:lora_requests_info')!.metrics.some((s) => s.labels?.running_lora_adapters === 'a'),
      'adapter a running',
    );
    await req;
    // No cache_config_info label is missing: vLLM 0.12's CacheConfig attributes plus engine.
    const info = (await scrape(h.app)).get('vllm:cache_config_info')!.metrics[0]!;
    expect(info.labels).toMatchObject({ engine: '0', block_size: '16', num_gpu_blocks: '256', enable_prefix_caching: 'True' });
    expect(Object.keys(info.labels!)).toHaveLength(23);
  });
});
