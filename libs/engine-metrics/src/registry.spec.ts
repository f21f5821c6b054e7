import { createEngineTableRegistry } from './engines';
import { DuplicateEngineTableError, UnknownEngineError } from './errors';
import { parsePrometheusText } from './prometheus/parse';
import { EngineTableRegistry } from './registry';
import { type EngineMetricTable } from './table';

const tgi: EngineMetricTable = {
  id: 'tgi',
  prefixes: ['tgi_'],
  gauges: { requests_running: [{ name: 'tgi_batch_current_size' }], requests_waiting: [{ name: 'tgi_queue_size' }] },
  counters: {},
  histograms: {},
};

describe('EngineTableRegistry', () => {
  it('registers the built-in tables in one place', () => {
    expect(createEngineTableRegistry().ids()).toEqual(['vllm', 'sglang']);
  });

  it('adds a new engine as a new table, on its own instance only', () => {
    const registry = createEngineTableRegistry().register(tgi);
    expect(registry.get('tgi')).toBe(tgi);
    expect(registry.detect(parsePrometheusText('tgi_queue_size 2\ntgi_batch_current_size 5\n'))?.id).toBe('tgi');
    expect(createEngineTableRegistry().ids()).not.toContain('tgi');
  });

  it('refuses a second table with the same id', () => {
    expect(() => createEngineTableRegistry().register({ ...tgi, id: 'vllm' })).toThrow(DuplicateEngineTableError);
  });

  it('names the known tables when asked for an unknown one', () => {
    expect(() => new EngineTableRegistry().register(tgi).get('trtllm')).toThrow(new UnknownEngineError(['tgi'], 'trtllm'));
  });

  it.each([
    [
      'mostly vLLM names with one stray SGLang gauge',
      'vllm:num_requests_running 1\nvllm:num_requests_waiting 0\nsglang:token_usage 0.1\n',
      'vllm',
    ],
    ['only process metrics', 'process_start_time_seconds 1.7e9\npython_info 1\n', 'no engine'],
    ['an empty scrape', '', 'no engine'],
  ])('detects %s as %s', (_case, text, id) => {
    expect(createEngineTableRegistry().detect(parsePrometheusText(text))?.id ?? 'no engine').toBe(id);
  });
});
