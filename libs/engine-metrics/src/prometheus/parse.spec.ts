import { parseFloatValue, parsePrometheusText } from './parse';

describe('parsePrometheusText', () => {
  it('keeps counters under their _total name and drops the _created family that follows them', () => {
    const parsed = parsePrometheusText(
      [
        '# HELP vllm:prompt_tokens_total Prefill tokens processed.',
        '# TYPE vllm:prompt_tokens_total counter',
        'vllm:prompt_tokens_total{engine="0",model_name="m"} 20.0',
        '# HELP vllm:prompt_tokens_created Prefill tokens processed.',
        '# TYPE vllm:prompt_tokens_created gauge',
        'vllm:prompt_tokens_created{engine="0",model_name="m"} 1.7641e+09',
      ].join('\n'),
    );
    expect(parsed.samples.get('vllm:prompt_tokens_total')).toEqual([{ labels: { engine: '0', model_name: 'm' }, value: 20 }]);
    expect(parsed.samples.has('vllm:prompt_tokens_created')).toBe(false);
    expect(parsed.types.get('vllm:prompt_tokens_total')).toBe('counter');
    expect(parsed.help.get('vllm:prompt_tokens_total')).toBe('Prefill tokens processed.');
    expect(parsed.skipped).toEqual([]);
  });

  it('drops _created samples inside an OpenMetrics counter family too', () => {
    const parsed = parsePrometheusText(
      ['# TYPE requests counter', 'requests_total 7', 'requests_created 1.7e9', '# EOF', 'ignored_after_eof 1'].join('\n'),
    );
    expect([...parsed.samples.keys()]).toEqual(['requests_total']);
  });

  it('keeps a gauge that merely ends in _created when nothing counts under its base name', () => {
    const parsed = parsePrometheusText('# TYPE jobs_created gauge\njobs_created 4\n');
    expect(parsed.samples.get('jobs_created')?.[0]?.value).toBe(4);
  });

  it('groups a histogram per label set, sorts buckets by le and reads sum and count', () => {
    const parsed = parsePrometheusText(
      [
        '# TYPE ttft_seconds histogram',
        'ttft_seconds_bucket{engine="0",le="+Inf"} 3',
        'ttft_seconds_bucket{engine="0",le="0.5"} 2',
        'ttft_seconds_bucket{engine="0",le="0.1"} 1',
        'ttft_seconds_count{engine="0"} 3',
        'ttft_seconds_sum{engine="0"} 1.25',
        'ttft_seconds_bucket{engine="1",le="0.1"} 0',
        'ttft_seconds_bucket{engine="1",le="+Inf"} 1',
        'ttft_seconds_sum{engine="1"} 4',
        'ttft_seconds_created{engine="0"} 1.7e9',
      ].join('\n'),
    );
    const series = parsed.histograms.get('ttft_seconds')!;
    expect(series).toHaveLength(2);
    expect(series[0]).toEqual({
      labels: { engine: '0' },
      buckets: [
        { le: 0.1, count: 1 },
        { le: 0.5, count: 2 },
        { le: Infinity, count: 3 },
      ],
      sum: 1.25,
      count: 3,
    });
    // No _count line: the +Inf bucket is the count.
    expect(series[1]!.count).toBe(1);
    expect(parsed.samples.size).toBe(0);
  });

  it('recognises an untyped histogram by its _bucket samples with le', () => {
    const parsed = parsePrometheusText('lat_bucket{le="1"} 2\nlat_bucket{le="+Inf"} 2\nlat_sum 0.5\nlat_count 2\n');
    expect(parsed.histograms.get('lat')?.[0]).toMatchObject({ sum: 0.5, count: 2 });
  });

  it('handles a histogram whose name itself ends in _total (vllm:iteration_tokens_total)', () => {
    const parsed = parsePrometheusText(
      [
        '# TYPE vllm:iteration_tokens_total histogram',
        'vllm:iteration_tokens_total_bucket{le="1.0"} 5',
        'vllm:iteration_tokens_total_bucket{le="+Inf"} 7',
        'vllm:iteration_tokens_total_count 7',
        'vllm:iteration_tokens_total_sum 605',
        '# TYPE vllm:iteration_tokens_total_created gauge',
        'vllm:iteration_tokens_total_created 1.7e9',
      ].join('\n'),
    );
    expect(parsed.histograms.get('vllm:iteration_tokens_total')?.[0]).toMatchObject({ sum: 605, count: 7 });
    expect(parsed.samples.size).toBe(0);
  });

  it.each([
    ['escaped quotes, backslashes and newlines', 'm{a="x\\"y\\\\z\\nw"} 1', { a: 'x"y\\z\nw' }],
    ['a trailing comma', 'm{a="1",} 1', { a: '1' }],
    ['spaces around labels', 'm{ a = "1" , b="2" } 1', { a: '1', b: '2' }],
    ['commas and braces inside values', 'm{adapters="a,b}c"} 1', { adapters: 'a,b}c' }],
    ['an empty value', 'm{a=""} 1', { a: '' }],
  ])('reads labels with %s', (_case, line, labels) => {
    expect(parsePrometheusText(line).samples.get('m')?.[0]?.labels).toEqual(labels);
  });

  it.each([
    ['1', 1],
    ['1.5e+09', 1.5e9],
    ['-0.25', -0.25],
    ['+Inf', Infinity],
    ['-Inf', -Infinity],
    ['.5', 0.5],
  ])('reads the value %s', (text, value) => {
    expect(parseFloatValue(text)).toBe(value);
  });

  it('reads NaN and a sample timestamp', () => {
    const s = parsePrometheusText('m NaN 1764100000000\n').samples.get('m')![0]!;
    expect(s.value).toBeNaN();
    expect(s.timestampMs).toBe(1764100000000);
  });

  it('ignores an OpenMetrics exemplar after the value', () => {
    const parsed = parsePrometheusText('m_bucket{le="1"} 3 # {trace_id="abc"} 0.4 1.7e9\n');
    expect(parsed.histograms.get('m')?.[0]?.buckets).toEqual([{ le: 1, count: 3 }]);
    expect(parsed.skipped).toEqual([]);
  });

  it('skips bad lines with their number and reason, and keeps every good line', () => {
    const parsed = parsePrometheusText(
      [
        'good_one 1',
        'bad{a="1" 2',
        'no_value',
        'bad_value{a="1"} twelve',
        '# TYPE x nonsense',
        'dup{a="1",a="2"} 1',
        'good_two{b="2"} 2',
        'too many fields here 1',
      ].join('\n'),
    );
    expect([...parsed.samples.keys()]).toEqual(['good_one', 'good_two']);
    expect(parsed.skipped.map((s) => [s.line, s.reason])).toEqual([
      [2, 'expected "," or "}" after label a'],
      [3, 'sample no_value has no value'],
      [4, '"twelve" is not a number'],
      [5, 'unknown type "nonsense"'],
      [6, 'label a appears twice'],
      [8, 'unexpected text after the value of too'],
    ]);
  });

  it('accepts CRLF line ends and free comments', () => {
    const parsed = parsePrometheusText('# a free comment\r\nm 1\r\n\r\n');
    expect(parsed.samples.get('m')?.[0]?.value).toBe(1);
    expect(parsed.skipped).toEqual([]);
  });
});
