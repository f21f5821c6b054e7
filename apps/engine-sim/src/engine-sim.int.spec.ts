// engine-sim as a real process (the esbuild bundle), spoken to over real sockets: the official `openai` client,
// a Prometheus text parser, and ZeroMQ SUB / DEALER sockets for KV-cache events.
import { decode } from '@msgpack/msgpack';
import { type ServiceProcess, freePort, startApp, startProcess, bundleApp, waitFor } from '@brix/testing';
import OpenAI from 'openai';
import parsePrometheusTextFormat, { type ParsedFamily } from 'parse-prometheus-text-format';
import * as zmq from 'zeromq';

const MODEL = 'meta-llama/Meta-Llama-3-8B-Instruct';
const ADMIN = 'int-admin';

async function scrape(base: string): Promise<Map<string, ParsedFamily>> {
  const text = await (await fetch(`${base}/metrics`)).text();
  return new Map(parsePrometheusTextFormat(text).map((f) => [f.name, f]));
}

function value(m: Map<string, ParsedFamily>, name: string, labels: Record<string, string> = {}): number {
  const s = m.get(name)?.metrics.find((x) => Object.entries(labels).every(([k, v]) => x.labels?.[k] === v));
  return s?.value === undefined ? NaN : Number(s.value);
}

/** A long prose prompt: `n` sentences, each different. */
const longText = (n: number, tag: string) =>
  Array.from({ length: n }, (_, i) => `${tag} sentence ${i} talks about engines, caches and the routing of requests.`).join(' ');

describe('engine-sim process', () => {
  let engine: ServiceProcess;
  let base: string;
  let client: OpenAI;
  let sub: zmq.Subscriber;
  let replayEndpoint: string;
  const frames: Buffer[][] = [];
  let receiving: Promise<void>;

  beforeAll(async () => {
    const [port, kvPort, replayPort] = [await freePort(), await freePort(), await freePort()];
    replayEndpoint = `tcp://127.0.0.1:${replayPort}`;
    const kvConfig = {
      enable_kv_cache_events: true,
      publisher: 'zmq',
      endpoint: `tcp://*:${kvPort}`,
      replay_endpoint: `tcp://*:${replayPort}`,
      topic: 'kv',
    };
    engine = await startApp('engine-sim', {
      args: [
        '--port',
        String(port),
        '--model',
        'llama-3-8b',
        '--served-model-name',
        MODEL,
        '--max-num-seqs',
        '4',
        '--enable-lora',
        '--max-loras',
        '2',
        '--enable-prompt-tokens-details',
        '--kv-events-config',
        JSON.stringify(kvConfig),
      ],
      env: { VLLM_ALLOW_RUNTIME_LORA_UPDATING: '1', BRIX_ADMIN_TOKEN: ADMIN, BRIX_LOG_LEVEL: 'info' },
      readyUrl: `http://127.0.0.1:${port}/health`,
    });
    base = `http://127.0.0.1:${port}`;
    client = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'not-checked', maxRetries: 0 });
    sub = new zmq.Subscriber({ linger: 0 });
    sub.connect(`tcp://127.0.0.1:${kvPort}`);
    sub.subscribe('kv');
    receiving = (async () => {
      try {
        for await (const msg of sub) frames.push(msg);
      } catch {
        // closed
      }
    })();
  }, 60_000);

  afterAll(async () => {
    sub?.close();
    await receiving;
    await engine?.stop();
  });

  it('prints one ready line with what it serves', () => {
    const ready = engine
      .output()
      .split('\n')
      .filter((l) => l.includes('"engine-sim ready"'));
    expect(ready).toHaveLength(1);
    expect(JSON.parse(ready[0]!)).toMatchObject({ served: [MODEL], gpu: 'H100', vllmVersion: '0.11', timeScale: 1 });
  });

  describe('the official openai client', () => {
    it('lists the model', async () => {
      const models = await client.models.list();
      expect(models.data.map((m) => m.id)).toEqual([MODEL]);
      expect(models.data[0]).toMatchObject({ object: 'model', owned_by: 'vllm', root: 'llama-3-8b' });
    });

    it('completes a chat, whole and streamed', async () => {
      const whole = await client.chat.completions.create({
        model: MODEL,
        messages: [{ role: 'user', content: 'Say something.' }],
        max_tokens: 12,
      });
      expect(whole.choices[0]!.message.role).toBe('assistant');
      expect(whole.usage!.completion_tokens).toBeLessThanOrEqual(12);
      expect(['stop', 'length']).toContain(whole.choices[0]!.finish_reason);

      const stream = await client.chat.completions.create({
        model: MODEL,
        messages: [{ role: 'user', content: 'Stream something.' }],
        max_tokens: 10,
        stream: true,
        stream_options: { include_usage: true },
        // vLLM extra
        ...({ ignore_eos: true } as object),
      });
      let text = '';
      let chunks = 0;
      let finish: string | null = null;
      let usage: OpenAI.CompletionUsage | undefined;
      for await (const chunk of stream) {
        chunks++;
        if (chunk.usage) usage = chunk.usage;
        const c = chunk.choices[0];
        if (c?.delta.content) text += c.delta.content;
        if (c?.finish_reason) finish = c.finish_reason;
      }
      // role chunk + 10 tokens + usage chunk
      expect(chunks).toBe(12);
      expect(finish).toBe('length');
      expect(usage!.completion_tokens).toBe(10);
      expect(text.length).toBeGreaterThan(0);
    });

    it('completes text, whole and streamed', async () => {
      const whole = await client.completions.create({ model: MODEL, prompt: 'Once upon a time', max_tokens: 5 });
      expect(whole.object).toBe('text_completion');
      expect(whole.usage!.prompt_tokens).toBe(5); // BOS + "Once", " upon", " a", " time"
      const stream = await client.completions.create({ model: MODEL, prompt: 'Once upon a time', max_tokens: 5, stream: true });
      let pieces = 0;
      for await (const chunk of stream) if (chunk.choices[0]) pieces++;
      expect(pieces).toBeGreaterThanOrEqual(1);
      expect(pieces).toBeLessThanOrEqual(5);
    });

    it('embeds (the client asks for base64 and decodes it)', async () => {
      const res = await client.embeddings.create({ model: MODEL, input: ['first text', 'second text'] });
      expect(res.data).toHaveLength(2);
      expect(res.data[0]!.embedding).toHaveLength(4096);
      const norm = Math.sqrt(res.data[0]!.embedding.reduce((s, x) => s + x * x, 0));
      expect(norm).toBeCloseTo(1, 4);
    });

    it('surfaces vLLM errors as the client’s typed errors', async () => {
      await expect(
        client.chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'x' }] }),
      ).rejects.toMatchObject({
        status: 404,
        message: expect.stringContaining('The model `no-such-model` does not exist.'),
      });
      await expect(
        client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'x' }], max_tokens: 100_000 }),
      ).rejects.toBeInstanceOf(OpenAI.BadRequestError);
    });
  });

  it('moves /metrics with load: running, waiting, KV usage, counters', async () => {
    const before = await scrape(base);
    expect(value(before, 'process_start_time_seconds')).toBeGreaterThan(0);
    const generatedBefore = value(before, 'vllm:generation_tokens_total');
    // 10 long requests against --max-num-seqs 4: 4 run, the rest wait.
    const load = Array.from({ length: 10 }, (_, i) =>
      client.completions.create({ model: MODEL, prompt: `load ${i}`, max_tokens: 300, ...({ ignore_eos: true } as object) }),
    );
    const busy = await waitFor(
      async () => {
        const m = await scrape(base);
        return value(m, 'vllm:num_requests_running') === 4 && value(m, 'vllm:num_requests_waiting') > 0 ? m : undefined;
      },
      '4 running and a queue',
      { timeoutMs: 20_000 },
    );
    expect(value(busy, 'vllm:kv_cache_usage_perc')).toBeGreaterThan(0);
    await Promise.all(load);
    const after = await scrape(base);
    expect(value(after, 'vllm:num_requests_running')).toBe(0);
    expect(value(after, 'vllm:num_requests_waiting')).toBe(0);
    // 10 × 300 tokens
    expect(value(after, 'vllm:generation_tokens_total') - generatedBefore).toBe(3000);
    expect(Number(after.get('vllm:request_queue_time_seconds')!.metrics[0]!.buckets!['+Inf'])).toBeGreaterThanOrEqual(10);
  }, 60_000);

  it('answers a long prompt faster the second time: the shared prefix comes from the prefix cache', async () => {
    const shared = longText(300, 'cache'); // ≈ 5,000 tokens
    const ttft = async (question: string) => {
      const t0 = performance.now();
      const stream = await client.chat.completions.create({
        model: MODEL,
        messages: [
          { role: 'system', content: shared },
          { role: 'user', content: question },
        ],
        max_tokens: 2,
        stream: true,
        stream_options: { include_usage: true },
      });
      let first: number | undefined;
      let cached = 0;
      let prompt = 0;
      for await (const chunk of stream) {
        first ??= performance.now() - t0;
        if (chunk.usage) {
          prompt = chunk.usage.prompt_tokens;
          cached = chunk.usage.prompt_tokens_details?.cached_tokens ?? 0;
        }
      }
      return { ms: first!, cached, prompt };
    };
    const cold = await ttft('First question?');
    const warm = await ttft('A different second question?');
    expect(cold.cached).toBe(0);
    // Everything but the differing question at the end is served from the cache.
    expect(warm.cached).toBeGreaterThan(warm.prompt - 32);
    expect(warm.ms).toBeLessThan(cold.ms);
  }, 60_000);

  it('publishes KV events on ZMQ in vLLM framing, and replays them from a sequence number', async () => {
    const prompt = longText(4, 'kv-events');
    const tokens = (await (
      await fetch(`${base}/tokenize`, {
        method: 'POST',
        body: JSON.stringify({ prompt }),
        headers: { 'content-type': 'application/json' },
      })
    ).json()) as {
      tokens: number[];
    };
    await client.completions.create({ model: MODEL, prompt, max_tokens: 1 });
    const firstBlock = tokens.tokens.slice(0, 16);
    const match = await waitFor(
      () =>
        frames.find((f) => {
          const [, events] = decode(f[2]!, { useBigInt64: true }) as [number, unknown[][], number];
          return events.some(
            (e) => e[0] === 'BlockStored' && JSON.stringify((e[3] as number[]).slice(0, 16)) === JSON.stringify(firstBlock),
          );
        }),
      'the BlockStored event of the prompt',
    );
    expect(match).toHaveLength(3);
    expect(match[0]!.toString()).toBe('kv');
    expect(match[1]).toHaveLength(8);
    const [ts, events, rank] = decode(match[2]!, { useBigInt64: true }) as [number, unknown[][], number];
    expect(Math.abs(ts - Date.now() / 1000)).toBeLessThan(60);
    expect(rank).toBe(0);
    const stored = events.find((e) => e[0] === 'BlockStored')!;
    // ["BlockStored", block_hashes, parent_block_hash, token_ids, block_size, lora_id, medium]
    expect(stored).toHaveLength(7);
    expect(stored[1]).toEqual(expect.arrayContaining([expect.any(BigInt)]));
    expect(stored[2]).toBeNull();
    expect(stored[4]).toBe(16);
    expect(stored[5]).toBeNull();
    expect(stored[6]).toBe('GPU');
    // Sequence numbers grow by one per batch.
    const seqs = frames.map((f) => f[1]!.readBigUInt64BE(0));
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]! - seqs[i - 1]!).toBe(1n);

    // Replay from 0: every buffered batch, then the end marker.
    const dealer = new zmq.Dealer({ linger: 0 });
    try {
      dealer.connect(replayEndpoint);
      await dealer.send([Buffer.alloc(0), Buffer.alloc(8)]);
      const replayed: bigint[] = [];
      for (;;) {
        const [, seq] = await dealer.receive();
        const n = seq!.readBigInt64BE(0);
        if (n === -1n) break;
        replayed.push(n);
      }
      expect(replayed[0]).toBe(0n);
      expect(replayed.at(-1)).toBe(seqs.at(-1));
    } finally {
      dealer.close();
    }
  });

  it('loads and unloads LoRA adapters at run time; /v1/models follows', async () => {
    const post = (path: string, body: object) =>
      fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const load = await post('/v1/load_lora_adapter', { lora_name: 'sql-lora', lora_path: '/adapters/sql' });
    expect(load.status).toBe(200);
    expect(await load.text()).toBe("Success: LoRA adapter 'sql-lora' added successfully.");
    const listed = await client.models.list();
    expect(listed.data.map((m) => m.id)).toEqual([MODEL, 'sql-lora']);
    expect(listed.data[1]).toMatchObject({ root: '/adapters/sql', parent: MODEL });
    const answer = await client.completions.create({ model: 'sql-lora', prompt: 'SELECT', max_tokens: 3 });
    expect(answer.model).toBe('sql-lora');
    expect((await post('/v1/unload_lora_adapter', { lora_name: 'sql-lora' })).status).toBe(200);
    expect((await client.models.list()).data.map((m) => m.id)).toEqual([MODEL]);
  });

  it('injects faults set through /admin/config, and counts an abandoned stream as aborted', async () => {
    const patch = (body: object) =>
      fetch(`${base}/admin/config`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}` },
        body: JSON.stringify(body),
      });
    expect((await patch({ errorRate: 1 })).status).toBe(200);
    await expect(client.completions.create({ model: MODEL, prompt: 'x', max_tokens: 1 })).rejects.toBeInstanceOf(
      OpenAI.InternalServerError,
    );
    expect((await patch({ errorRate: 0, stalled: true })).status).toBe(200);
    expect((await fetch(`${base}/health`)).status).toBe(503);
    expect((await patch({ stalled: false })).status).toBe(200);
    expect((await fetch(`${base}/health`)).status).toBe(200);

    const abortsBefore = value(await scrape(base), 'vllm:request_success_total', { finished_reason: 'abort' });
    const controller = new AbortController();
    const res = await fetch(`${base}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, prompt: 'a long answer', max_tokens: 1000, ignore_eos: true, stream: true }),
      signal: controller.signal,
    });
    const reader = res.body!.getReader();
    await reader.read(); // the first token arrived: the request is running
    controller.abort();
    await waitFor(
      async () => value(await scrape(base), 'vllm:request_success_total', { finished_reason: 'abort' }) === abortsBefore + 1,
      'the abandoned request to be aborted',
    );
    expect(value(await scrape(base), 'vllm:num_requests_running')).toBe(0);
  });
});

describe('engine-sim process lifecycle and benchmark mode', () => {
  it('crashes (exit 1) when request N+1 arrives', async () => {
    const port = await freePort();
    const p = await startApp('engine-sim', {
      args: ['--port', String(port), '--crash-after-requests', '2', '--time-scale', '0'],
      env: { BRIX_LOG_LEVEL: 'warn' },
      readyUrl: `http://127.0.0.1:${port}/health`,
    });
    try {
      const ask = () =>
        fetch(`http://127.0.0.1:${port}/v1/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ prompt: 'x', max_tokens: 1 }),
        });
      expect((await ask()).status).toBe(200);
      expect((await ask()).status).toBe(200);
      await expect(ask()).rejects.toThrow();
      expect(await p.exited).toBe(1);
    } finally {
      await p.kill();
    }
  });

  it('answers 503 during its start-up delay, then 200, and exits 0 on SIGTERM', async () => {
    const port = await freePort();
    const p = await startProcess({
      script: await bundleApp('engine-sim'),
      args: ['--port', String(port), '--startup-delay-ms', '1500'],
      env: { BRIX_LOG_LEVEL: 'info' },
    });
    try {
      const health = () =>
        fetch(`http://127.0.0.1:${port}/health`)
          .then((r) => r.status)
          .catch(() => 0);
      await waitFor(async () => (await health()) === 503, 'the server to answer 503 while starting');
      expect(p.output()).not.toContain('"engine-sim ready"');
      await waitFor(async () => (await health()) === 200, 'the start-up delay to pass');
      expect(await p.stop()).toBe(0);
      expect(p.output()).toContain('"engine-sim ready"');
    } finally {
      await p.kill();
    }
  });

  it('refuses a bad flag with one line on stderr and exit code 1', async () => {
    const p = await startProcess({ script: await bundleApp('engine-sim'), args: ['--max-num-seqs', 'many'] });
    expect(await p.exited).toBe(1);
    expect(p.output().trim().split('\n')).toEqual([expect.stringMatching(/^engine-sim: invalid configuration: --max-num-seqs=/)]);
  });

  it('benchmark mode: --time-scale 0 and --estimate-tokens take a 220 KB prompt without BPE', async () => {
    const port = await freePort();
    const p = await startApp('engine-sim', {
      args: [
        '--port',
        String(port),
        '--time-scale',
        '0',
        '--estimate-tokens',
        '--max-model-len',
        '131072',
        '--model',
        'llama-3.1-8b',
      ],
      env: { BRIX_LOG_LEVEL: 'warn' },
      readyUrl: `http://127.0.0.1:${port}/health`,
    });
    try {
      const prompt = longText(3000, 'bench'); // ≈ 230 KB
      const bytes = Buffer.byteLength(prompt);
      expect(bytes).toBeGreaterThan(220_000);
      const res = await fetch(`http://127.0.0.1:${port}/v1/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ prompt, max_tokens: 4, ignore_eos: true }),
      });
      expect(res.status).toBe(200);
      // BOS + one id per 4 bytes
      expect(((await res.json()) as { usage: { prompt_tokens: number } }).usage.prompt_tokens).toBe(1 + Math.ceil(bytes / 4));
    } finally {
      await p.stop();
    }
  });
});
