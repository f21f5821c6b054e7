import { Writable } from 'node:stream';
import { performance } from 'node:perf_hooks';
import { MemoryBus } from '@brix/bus';
import { Rng, WallClock } from '@brix/clock';
import { loadConfig } from '@brix/config';
import { type EngineInfo, MemoryEngineDirectory } from '@brix/discovery';
import { type Gateway, gatewaySettings, interpretEngineMetrics, LONG_TEXT_BYTES } from '@brix/gateway-core';
import { createLogger, createMetricsRegistry } from '@brix/observability';
import { createRouter } from '@brix/routing';
import { freePort, type ServiceProcess, startApp, waitFor } from '@brix/testing';
import { completionPromptTokens, llama3Tokenizer } from '@brix/tokenizer';
import OpenAI from 'openai';
import { buildApp } from './app';

// The gateway runs in-process; the engines are real engine-sim processes (the stand-in for GPU engines),
// reached over real HTTP; the client is the official openai package.

const ADMIN = 'admin-token';
const quiet = new Writable({ write: (_c, _e, cb) => cb() });

async function startEngine(...extra: string[]): Promise<{ proc: ServiceProcess; url: string }> {
  const port = await freePort();
  const proc = await startApp('engine-sim', {
    args: ['--port', String(port), '--served-model-name', 'llama', ...extra],
    env: { BRIX_LOG_LEVEL: 'warn' },
    // A stalled engine answers /health with 503 by design; /version shows it is up.
    readyUrl: `http://127.0.0.1:${port}/${extra.includes('--stall') ? 'version' : 'health'}`,
  });
  return { proc, url: `http://127.0.0.1:${port}` };
}

async function startGateway(
  engines: EngineInfo[],
  overrides: Partial<ReturnType<typeof loadConfig<typeof gatewaySettings>>> = {},
) {
  const directory = new MemoryEngineDirectory(engines);
  const config = { ...loadConfig(gatewaySettings, { env: {} }), adminToken: ADMIN, port: 0, ...overrides };
  const gateway: Gateway = await buildApp({
    config,
    logger: createLogger({ service: 'gateway', destination: quiet }),
    registry: createMetricsRegistry({ service: 'gateway', processMetrics: false }),
    bus: new MemoryBus(),
    directory,
    clock: new WallClock(),
    rng: new Rng(1),
    router: createRouter({ timer: () => performance.now() }),
    interpretMetrics: interpretEngineMetrics(),
    instance: 'gw-test',
  });
  await gateway.app.listen({ host: '127.0.0.1', port: 0 });
  const address = gateway.app.server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'not-needed', maxRetries: 0 });
  return { gateway, directory, url, client };
}

/** The OpenAI-style error body of a response. */
const errorOf = async (res: Response) => ((await res.json()) as { error: { code: string; message: string } }).error;

const engineInfo = (id: string, url: string, ready = true): EngineInfo => ({
  id,
  model: 'llama',
  url,
  ready,
  labels: {},
  gpuType: 'H100',
});

describe('gateway against engine-sim processes, through the openai client', () => {
  let e1: Awaited<ReturnType<typeof startEngine>>;
  let e2: Awaited<ReturnType<typeof startEngine>>;
  let gw: Awaited<ReturnType<typeof startGateway>>;

  beforeAll(async () => {
    [e1, e2] = await Promise.all([startEngine(), startEngine()]);
    gw = await startGateway([engineInfo('e1', e1.url), engineInfo('e2', e2.url)]);
  });
  afterAll(async () => {
    await gw?.gateway.close();
    await Promise.all([e1?.proc.stop(), e2?.proc.stop()]);
  });

  it('answers a chat completion with usage and names the engine, strategy and request id', async () => {
    const { data, response } = await gw.client.chat.completions
      .create({ model: 'llama', messages: [{ role: 'user', content: 'Hello there' }], max_tokens: 8 })
      .withResponse();
    expect(data.choices[0]!.message.content!.length).toBeGreaterThan(0);
    expect(data.usage).toMatchObject({ completion_tokens: 8 });
    expect(data.usage!.prompt_tokens).toBeGreaterThan(3);
    expect(['e1', 'e2']).toContain(response.headers.get('target-pod'));
    expect(response.headers.get('routing-strategy')).toBe('least-request');
    expect(response.headers.get('x-request-id')).toMatch(/.+/);
  });

  it('answers a text completion, streamed and not', async () => {
    const plain = await gw.client.completions.create({ model: 'llama', prompt: 'Once upon a time', max_tokens: 5 });
    expect(plain.usage?.completion_tokens).toBe(5);
    const stream = await gw.client.completions.create({
      model: 'llama',
      prompt: 'Once upon a time',
      max_tokens: 5,
      stream: true,
    });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.text ?? '';
    expect(text.length).toBeGreaterThan(0);
  });

  it('streams chat chunks, and shows the usage chunk only to a client that asked for it', async () => {
    const collect = async (includeUsage: boolean) => {
      const stream = await gw.client.chat.completions.create({
        model: 'llama',
        messages: [{ role: 'user', content: 'Tell me a story' }],
        max_tokens: 6,
        stream: true,
        ...(includeUsage ? { stream_options: { include_usage: true } } : {}),
      });
      const chunks = [];
      for await (const c of stream) chunks.push(c);
      return chunks;
    };
    const without = await collect(false);
    expect(without.filter((c) => c.usage)).toHaveLength(0);
    expect(without.map((c) => c.choices[0]?.delta?.content ?? '').join('').length).toBeGreaterThan(0);
    const withUsage = await collect(true);
    const last = withUsage.at(-1)!;
    expect(last.choices).toEqual([]);
    expect(last.usage).toMatchObject({ completion_tokens: 6 });
  });

  it('passes the stream through as it arrives: the first chunk reaches the client while the engine is still generating', async () => {
    const stream = await gw.client.chat.completions.create({
      model: 'llama',
      messages: [{ role: 'user', content: 'Count slowly' }],
      max_tokens: 200,
      stream: true,
      // vLLM's extension: generate exactly max_tokens.
      ...({ ignore_eos: true } as object),
    });
    let inFlightAtFirstChunk: number | undefined;
    let chunks = 0;
    for await (const _chunk of stream) {
      if (chunks++ === 0) {
        const admin = await fetch(`${gw.url}/admin/engines`, { headers: { authorization: `Bearer ${ADMIN}` } });
        const { engines } = (await admin.json()) as { engines: Array<{ inFlight: number }> };
        inFlightAtFirstChunk = engines.reduce((n, e) => n + e.inFlight, 0);
      }
    }
    // Had the gateway buffered the answer, the request would have finished before the first chunk arrived.
    expect(inFlightAtFirstChunk).toBe(1);
    expect(chunks).toBe(201); // the role chunk, then one chunk per token
  });

  it('relays embeddings', async () => {
    const res = await gw.client.embeddings.create({ model: 'llama', input: ['a', 'b'] });
    expect(res.data).toHaveLength(2);
    expect(res.data[0]!.embedding.length).toBeGreaterThan(0);
  });

  it('lists the served models', async () => {
    const models = await gw.client.models.list();
    expect(models.data.map((m) => m.id)).toEqual(['llama']);
  });

  it('answers an unknown model with 404 model_not_found', async () => {
    await expect(
      gw.client.chat.completions.create({ model: 'gpt-9', messages: [{ role: 'user', content: 'x' }] }),
    ).rejects.toMatchObject({
      status: 404,
      code: 'model_not_found',
    });
  });

  it.each([
    ['messages missing', { model: 'llama' }, 400, 'invalid_request'],
    [
      'max_tokens negative',
      { model: 'llama', messages: [{ role: 'user', content: 'x' }], max_tokens: -1 },
      400,
      'invalid_request',
    ],
    ['malformed JSON', '{"model": "llama", ', 400, 'invalid_json'],
    [
      'a raw control character in a prompt',
      '{"model": "llama", "messages": [{"role": "user", "content": "a\u0001b"}]}',
      400,
      'invalid_json',
    ],
    [
      'bytes that are not UTF-8',
      Buffer.from([
        ...Buffer.from('{"model": "llama", "messages": [{"role": "user", "content": "'),
        0xff,
        0x22,
        0x7d,
        0x5d,
        0x7d,
      ]),
      400,
      'invalid_json',
    ],
  ])('answers a bad body (%s) with a clear 400', async (_case, body, status, code) => {
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
    });
    expect(res.status).toBe(status);
    expect((await errorOf(res)).code).toBe(code);
  });

  it('answers an unknown routing strategy with 400 naming the valid ones', async () => {
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'routing-strategy': 'fastest-please' },
      body: JSON.stringify({ model: 'llama', messages: [{ role: 'user', content: 'x' }] }),
    });
    expect(res.status).toBe(400);
    const error = await errorOf(res);
    expect(error.code).toBe('unknown_routing_strategy');
    expect(error.message).toContain('prefix-cache');
    expect(error.message).toContain('least-request');
  });

  it('follows the routing-strategy header', async () => {
    const res = await fetch(`${gw.url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'routing-strategy': 'prefix-cache' },
      body: JSON.stringify({ model: 'llama', prompt: 'x', max_tokens: 1 }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('routing-strategy')).toBe('prefix-cache');
  });

  it('reads a long prompt from the body bytes: forwards it intact, hashes it for prefix-cache, injects stream usage', async () => {
    // 40 KB with an escape per line: past the size from which the gateway leaves prompt text in the raw body.
    // Runs of '=' tokenize to a few hundred tokens, well inside the engine's context.
    const long = ('='.repeat(999) + '\n').repeat(40);
    expect(Buffer.byteLength(long)).toBeGreaterThan(LONG_TEXT_BYTES);
    const plain = await gw.client.completions.create({ model: 'llama', prompt: long, max_tokens: 2 });
    // The engine counted the very prompt the client sent.
    expect(plain.usage?.prompt_tokens).toBe(completionPromptTokens(llama3Tokenizer, long).length);

    const ask = async () => {
      const { data: stream, response } = await gw.client.chat.completions
        .create(
          {
            model: 'llama',
            messages: [
              { role: 'system', content: long },
              { role: 'user', content: 'Summarise.' },
            ],
            max_tokens: 3,
            stream: true,
          },
          { headers: { 'routing-strategy': 'prefix-cache' } },
        )
        .withResponse();
      const chunks = [];
      for await (const c of stream) chunks.push(c);
      return { pod: response.headers.get('target-pod'), chunks };
    };
    const first = await ask();
    const again = await ask();
    expect(again.pod).toBe(first.pod); // the prefix learned from the first request's hashes
    // The gateway asked the engine for usage (a member added to the client's bytes) and hid that chunk.
    for (const { chunks } of [first, again]) {
      expect(chunks.filter((c) => c.usage)).toHaveLength(0);
      expect(chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('').length).toBeGreaterThan(0);
    }
  });

  it('lists engines with their load state for operators, behind the admin token', async () => {
    expect((await fetch(`${gw.url}/admin/engines`)).status).toBe(401);
    await waitFor(async () => {
      const { engines } = (await (
        await fetch(`${gw.url}/admin/engines`, { headers: { authorization: `Bearer ${ADMIN}` } })
      ).json()) as {
        engines: Array<{ stale: boolean; loadSource: string }>;
      };
      return engines.every((e) => !e.stale && e.loadSource === 'scrape');
    }, 'fresh scraped load state for every engine');
    const { engines } = (await (
      await fetch(`${gw.url}/admin/engines`, { headers: { authorization: `Bearer ${ADMIN}` } })
    ).json()) as {
      engines: Array<Record<string, unknown>>;
    };
    expect(engines.map((e) => e['id'])).toEqual(['e1', 'e2']);
    expect(engines[0]).toMatchObject({
      model: 'llama',
      url: e1.url,
      ready: true,
      gpuType: 'H100',
      breaker: 'closed',
      loadedAdapters: [],
    });
    expect(engines[0]!['load']).toEqual(expect.objectContaining({ running: expect.any(Number), kvUsage: expect.any(Number) }));
    expect(typeof engines[0]!['loadAgeMs']).toBe('number');
  });

  it('exposes its own overhead and routing-decision time as histograms', async () => {
    const text = await (await fetch(`${gw.url}/metrics`)).text();
    expect(text).toMatch(/brix_gateway_overhead_seconds_count\{service="gateway"\} [1-9]/);
    expect(text).toMatch(/brix_gateway_routing_decision_seconds_count\{[^}]*strategy="least-request"[^}]*\} [1-9]/);
    expect(text).toMatch(/brix_gateway_ttft_seconds_count\{[^}]*model="llama"[^}]*\} [1-9]/);
  });
});

describe('gateway failure handling with engine-sim processes', () => {
  it('answers 503 with Retry-After when no engine of the model is ready', async () => {
    const gw = await startGateway([engineInfo('e1', 'http://127.0.0.1:9', false)]);
    try {
      const res = await fetch(`${gw.url}/v1/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'llama', prompt: 'x' }),
      });
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('1');
      expect((await errorOf(res)).code).toBe('no_capacity');
    } finally {
      await gw.gateway.close();
    }
  });

  it('answers a body over the limit with 413', async () => {
    const gw = await startGateway([], { bodyLimitBytes: 2048 });
    try {
      const res = await fetch(`${gw.url}/v1/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'llama', prompt: 'x'.repeat(5000) }),
      });
      expect(res.status).toBe(413);
      expect((await errorOf(res)).code).toBe('payload_too_large');
    } finally {
      await gw.gateway.close();
    }
  });

  it.each([false, true])(
    'retries on another engine when the chosen one is killed before it answers (stream: %s)',
    async (stream) => {
      // e1 is stalled: it accepts requests and never produces a token. e2 is healthy but not yet ready,
      // so the first choice is certainly e1.
      const [stalled, healthy] = await Promise.all([startEngine('--stall'), startEngine()]);
      const gw = await startGateway([engineInfo('e1', stalled.url), engineInfo('e2', healthy.url, false)]);
      try {
        const pending = fetch(`${gw.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'llama', messages: [{ role: 'user', content: 'hi' }], max_tokens: 3, stream }),
        });
        await waitFor(() => gw.gateway.store.get('e1')!.inFlight === 1, 'the request to reach e1');
        gw.directory.patch('e2', { ready: true });
        await stalled.proc.kill();
        const res = await pending;
        expect(res.status).toBe(200);
        expect(res.headers.get('target-pod')).toBe('e2');
        const body = await res.text();
        expect(body).toContain(stream ? 'data: [DONE]' : '"completion_tokens":3');
        const metrics = await (await fetch(`${gw.url}/metrics`)).text();
        expect(metrics).toMatch(/brix_gateway_upstream_retries_total\{[^}]*\} 1/);
      } finally {
        await gw.gateway.close();
        await Promise.all([stalled.proc.stop(), healthy.proc.stop()]);
      }
    },
  );
});
