import { VirtualClock } from '@brix/clock';
import { createEngineTableRegistry } from './engines';
import { ScrapeError, UnknownEngineError } from './errors';
import { EngineScraper, type FetchMetricsText, type ScrapeResult } from './scraper';

const vllmText = (running: number, prompt: number) =>
  [
    `vllm:num_requests_running{engine="0",model_name="m"} ${running}`,
    'vllm:num_requests_waiting{engine="0",model_name="m"} 0',
    'vllm:kv_cache_usage_perc{engine="0",model_name="m"} 0.1',
    `vllm:prompt_tokens_total{engine="0",model_name="m"} ${prompt}`,
  ].join('\n');

/** Lets queued promise callbacks run (the fetch below resolves on the next microtasks). */
const settle = () => new Promise((r) => setImmediate(r));

function setup(fetchText: FetchMetricsText, engine?: string) {
  const clock = new VirtualClock(1_000_000);
  const results: ScrapeResult[] = [];
  const scraper = new EngineScraper({
    clock,
    fetchText,
    tables: createEngineTableRegistry(),
    engine,
    model: 'm',
    pod: 'p',
    intervalMs: 100,
    timeoutMs: 50,
    onScrape: (r) => results.push(r),
  });
  return { clock, scraper, results };
}

describe('EngineScraper', () => {
  it('scrapes on the clock, one scrape at a time, and tracks rates between scrapes', async () => {
    let prompt = 0;
    let calls = 0;
    const { clock, scraper, results } = setup(async () => {
      calls++;
      prompt += 50;
      return vllmText(calls, prompt);
    });
    scraper.start();
    clock.advance(0);
    await settle();
    expect(results).toHaveLength(1);
    clock.advance(99);
    await settle();
    expect(results).toHaveLength(1); // the next scrape is due 100 ms after the first ended
    clock.advance(1);
    await settle();
    expect(results).toHaveLength(2);
    const second = results[1]!;
    expect(second.ok && second.snapshot).toMatchObject({
      running: 2,
      engine: 'vllm', // detected from the names
      ts: 1_000_100,
      promptTokensPerSec: 500, // 50 tokens per 100 ms
    });
    scraper.stop();
    clock.advance(1000);
    await settle();
    expect(results).toHaveLength(2);
  });

  it('reports a failed fetch and carries on with the next scrape', async () => {
    let n = 0;
    const { clock, scraper, results } = setup(async () => {
      n++;
      if (n === 1) throw new ScrapeError('connection refused');
      return vllmText(1, 10);
    });
    scraper.start();
    clock.advance(0);
    await settle();
    clock.advance(100);
    await settle();
    expect(results.map((r) => r.ok)).toEqual([false, true]);
    expect(!results[0]!.ok && results[0]!.error.message).toBe('connection refused');
    expect(scraper.latest()?.ok).toBe(true);
    scraper.stop();
  });

  it('aborts a scrape that outlives its timeout, on the injected clock', async () => {
    let aborted = false;
    const { clock, scraper } = setup(
      (signal) =>
        new Promise<string>(() => {
          signal.addEventListener('abort', () => (aborted = true));
        }),
    );
    const pending = scraper.scrapeOnce();
    clock.advance(50);
    const result = await pending;
    expect(aborted).toBe(true);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.error).toBeInstanceOf(ScrapeError);
    expect(!result.ok && result.error.message).toBe('scrape timed out after 50 ms');
  });

  it('fails with UnknownEngineError on text no table recognises', async () => {
    const { scraper } = setup(async () => 'node_cpu_seconds_total 12\n');
    const result = await scraper.scrapeOnce();
    expect(!result.ok && result.error).toBeInstanceOf(UnknownEngineError);
  });

  it('uses the configured table even when the names would suggest another', async () => {
    const { scraper } = setup(async () => vllmText(1, 1), 'sglang');
    const result = await scraper.scrapeOnce();
    // The SGLang table finds none of its names in vLLM text: a missing-metric failure, not a silent vLLM read.
    expect(!result.ok && result.error.name).toBe('MissingMetricError');
  });

  it('does not report a scrape that stop() cut short', async () => {
    const { clock, scraper, results } = setup(
      (signal) => new Promise<string>((_r, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
    );
    scraper.start();
    clock.advance(0);
    await settle();
    scraper.stop();
    await settle();
    expect(results).toEqual([]);
    expect(scraper.latest()).toBeUndefined();
  });

  it('flags a restart when the counters go back', async () => {
    const texts = [vllmText(1, 1000), vllmText(1, 5)];
    const { scraper } = setup(async () => texts.shift()!);
    await scraper.scrapeOnce();
    const result = await scraper.scrapeOnce();
    expect(result.ok && result.restarted).toBe(true);
  });
});
