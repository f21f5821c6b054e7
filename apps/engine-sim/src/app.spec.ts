import { chatPromptTokens, llama3Tokenizer } from '@brix/tokenizer';
import {
  ADMIN,
  type Harness,
  MODEL,
  baseSettings,
  chatBody,
  parseSse,
  prose,
  scrape,
  startHarness,
  value,
} from './testing/harness';

const auth = { authorization: `Bearer ${ADMIN}` };
const B = 16; // tokens per KV block

describe('engine-sim app', () => {
  const open: Harness[] = [];
  const harness = async (...args: Parameters<typeof startHarness>) => {
    const h = await startHarness(...args);
    open.push(h);
    return h;
  };
  afterEach(async () => {
    await Promise.all(open.splice(0).map((h) => h.app.close()));
  });

  describe('start-up and health', () => {
    it('answers 503 on /health and inference until the start-up delay has passed', async () => {
      const h = await harness({ settings: { startupDelayMs: 5000 } });
      expect(h.readyCalls).toBe(0);
      expect((await h.app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(503);
      expect((await h.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(503);
      const early = await h.app.inject({ method: 'POST', url: '/v1/chat/completions', payload: chatBody('x') });
      expect(early.statusCode).toBe(503);
      expect(early.json().error).toMatchObject({ type: 'ServiceUnavailableError', code: 503 });
      h.wall.advance(4999);
      expect((await h.app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(503);
      h.wall.advance(1);
      expect(h.readyCalls).toBe(1);
      expect((await h.app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
      expect((await h.app.inject({ method: 'POST', url: '/v1/chat/completions', payload: chatBody('x') })).statusCode).toBe(200);
    });

    it('is ready at once without a delay', async () => {
      const h = await harness();
      expect(h.readyCalls).toBe(1);
      expect((await h.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    });
  });

  describe('admin config and faults', () => {
    it('guards /admin/config with the bearer token and validates patches', async () => {
      const h = await harness();
      expect((await h.app.inject({ method: 'GET', url: '/admin/config' })).statusCode).toBe(401);
      const get = await h.app.inject({ method: 'GET', url: '/admin/config', headers: auth });
      expect(get.json()).toEqual({
        errorRate: 0,
        errorStatus: 500,
        latencySpikeRate: 0,
        latencySpikeMs: 0,
        stalled: false,
        crashAfterRequests: 0,
        timeScale: 0,
        ready: true,
        inferenceRequests: 0,
      });
      const bad = await h.app.inject({ method: 'PATCH', url: '/admin/config', headers: auth, payload: { errorRate: 2 } });
      expect(bad.statusCode).toBe(400);
      const unknown = await h.app.inject({ method: 'PATCH', url: '/admin/config', headers: auth, payload: { explode: true } });
      expect(unknown.statusCode).toBe(400);
    });

    it.each([
      { errorStatus: 500, type: 'InternalServerError' },
      { errorStatus: 503, type: 'ServiceUnavailableError' },
    ])('injects errors at errorRate 1 with status $errorStatus', async ({ errorStatus, type }) => {
      const h = await harness();
      await h.app.inject({ method: 'PATCH', url: '/admin/config', headers: auth, payload: { errorRate: 1, errorStatus } });
      for (const url of ['/v1/chat/completions', '/v1/completions', '/v1/embeddings']) {
        const payload =
          url === '/v1/chat/completions' ? chatBody('x') : url === '/v1/completions' ? { prompt: 'x' } : { input: 'x' };
        const res = await h.app.inject({ method: 'POST', url, payload });
        expect(res.statusCode).toBe(errorStatus);
        expect(res.json().error).toMatchObject({ type, code: errorStatus, param: null });
      }
      // Client mistakes are still answered as such, not as injected faults.
      expect(
        (await h.app.inject({ method: 'POST', url: '/v1/completions', payload: { model: 'nope', prompt: 'x' } })).statusCode,
      ).toBe(404);
      await h.app.inject({ method: 'PATCH', url: '/admin/config', headers: auth, payload: { errorRate: 0 } });
      expect((await h.app.inject({ method: 'POST', url: '/v1/completions', payload: { prompt: 'x' } })).statusCode).toBe(200);
    });

    it('injects roughly the configured fraction of errors, reproducibly for a seed', async () => {
      const run = async () => {
        const h = await harness({ settings: { faults: { ...baseSettings().faults, errorRate: 0.3 } } });
        const statuses: number[] = [];
        for (let i = 0; i < 60; i++) {
          statuses.push(
            (await h.app.inject({ method: 'POST', url: '/v1/completions', payload: { prompt: 'x', max_tokens: 1 } })).statusCode,
          );
        }
        return statuses;
      };
      const a = await run();
      const b = await run();
      expect(a).toEqual(b);
      const errors = a.filter((s) => s === 500).length;
      // 60 draws at p = 0.3: mean 18, sd ≈ 3.5; 6..30 is beyond 3 sd either side
      expect(errors).toBeGreaterThan(6);
      expect(errors).toBeLessThan(30);
    });

    it('crashes (exit 1) when inference request N+1 arrives', async () => {
      const h = await harness();
      await h.app.inject({ method: 'PATCH', url: '/admin/config', headers: auth, payload: { crashAfterRequests: 2 } });
      for (let i = 0; i < 2; i++) {
        expect(
          (await h.app.inject({ method: 'POST', url: '/v1/completions', payload: { prompt: 'x', max_tokens: 1 } })).statusCode,
        ).toBe(200);
      }
      expect(h.exits).toEqual([]);
      await h.app.inject({ method: 'POST', url: '/v1/completions', payload: { prompt: 'x', max_tokens: 1 } });
      expect(h.exits).toEqual([1]);
    });

    it('delays spiked requests in engine time: their TTFT grows by the spike', async () => {
      const h = await harness();
      const ttftSum = async () => {
        const text = (await h.app.inject({ method: 'GET', url: '/metrics' })).body;
        return Number(/^vllm:time_to_first_token_seconds_sum\{[^}]*\} (\S+)$/m.exec(text)![1]);
      };
      const payload = { prompt: 'same prompt', max_tokens: 1 };
      await h.app.inject({ method: 'POST', url: '/v1/completions', payload });
      const plain = await ttftSum();
      await h.app.inject({
        method: 'PATCH',
        url: '/admin/config',
        headers: auth,
        payload: { latencySpikeRate: 1, latencySpikeMs: 400 },
      });
      await h.app.inject({ method: 'POST', url: '/v1/completions', payload });
      const spiked = (await ttftSum()) - plain;
      // The same request again (now a prefix-cache hit, so no slower) plus 400 ms held back.
      expect(spiked).toBeGreaterThanOrEqual(0.4);
      expect(spiked).toBeLessThan(plain + 0.4 + 1e-9);
    });

    it('stalls: nothing is generated and /health answers 503 until the stall is lifted', async () => {
      const h = await harness();
      await h.app.inject({ method: 'PATCH', url: '/admin/config', headers: auth, payload: { stalled: true } });
      expect((await h.app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(503);
      let answered = false;
      const pending = h.app
        .inject({ method: 'POST', url: '/v1/chat/completions', payload: chatBody('wait for me', { max_tokens: 3 }) })
        .then((r) => {
          answered = true;
          return r;
        });
      // Give the event loop many turns: at time scale 0 an unstalled engine would have answered long ago.
      for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
      expect(answered).toBe(false);
      expect((await h.app.inject({ method: 'GET', url: '/load' })).json()).toEqual({ server_load: 1 });
      await h.app.inject({ method: 'PATCH', url: '/admin/config', headers: auth, payload: { stalled: false } });
      const res = await pending;
      expect(res.statusCode).toBe(200);
      expect((await h.app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
      expect((await h.app.inject({ method: 'GET', url: '/load' })).json()).toEqual({ server_load: 0 });
    });
  });

  describe('LoRA adapters at run time', () => {
    it('loads and unloads adapters with vLLM texts and statuses; /v1/models follows', async () => {
      const h = await harness({ settings: { runtimeLoraUpdating: true }, engine: { enableLora: true, maxLoras: 2 } });
      const post = (url: string, payload: object) => h.app.inject({ method: 'POST', url, payload });
      const ids = async () =>
        (await h.app.inject({ method: 'GET', url: '/v1/models' })).json().data.map((m: { id: string }) => m.id);

      const load = await post('/v1/load_lora_adapter', { lora_name: 'fin', lora_path: '/a/fin' });
      expect(load.statusCode).toBe(200);
      expect(load.body).toBe("Success: LoRA adapter 'fin' added successfully.");
      expect(await ids()).toEqual([MODEL, 'fin']);

      const again = await post('/v1/load_lora_adapter', { lora_name: 'fin', lora_path: '/a/fin' });
      expect(again.statusCode).toBe(400);
      expect(again.json().error).toEqual({
        message: "The lora adapter 'fin' has already been loaded.",
        type: 'InvalidUserInput',
        param: null,
        code: 400,
      });
      const missing = await post('/v1/load_lora_adapter', { lora_name: 'x' });
      expect(missing.json().error).toMatchObject({ type: 'InvalidUserInput', code: 400 });

      const served = await post('/v1/chat/completions', {
        model: 'fin',
        messages: [{ role: 'user', content: 'q' }],
        max_tokens: 2,
      });
      expect(served.json().model).toBe('fin');

      const unload = await post('/v1/unload_lora_adapter', { lora_name: 'fin' });
      expect(unload.body).toBe("Success: LoRA adapter 'fin' removed successfully.");
      expect(await ids()).toEqual([MODEL]);
      const unknown = await post('/v1/unload_lora_adapter', { lora_name: 'fin' });
      expect(unknown.statusCode).toBe(404);
      expect(unknown.json().error).toMatchObject({ type: 'NotFoundError', message: "The lora adapter 'fin' cannot be found." });
      expect((await post('/v1/chat/completions', { model: 'fin', messages: [] })).statusCode).toBe(404);
    });

    it('refuses loads when LoRA is off (engine error, 400)', async () => {
      const h = await harness({ settings: { runtimeLoraUpdating: true } });
      const res = await h.app.inject({
        method: 'POST',
        url: '/v1/load_lora_adapter',
        payload: { lora_name: 'a', lora_path: '/a' },
      });
      expect(res.statusCode).toBe(400);
      expect(res.json().error.type).toBe('BadRequestError');
    });
  });

  describe('prefix caching and KV events', () => {
    it('serves a repeated prompt from the prefix cache, counts the hit, and forgets it after a reset', async () => {
      const h = await harness({ settings: { promptTokensDetails: true } });
      const content = prose(300);
      const prompt = chatPromptTokens(llama3Tokenizer, [{ role: 'user', content }]).length;
      const ask = async () =>
        (
          await h.app.inject({ method: 'POST', url: '/v1/chat/completions', payload: chatBody(content, { max_tokens: 2 }) })
        ).json().usage;
      expect((await ask()).prompt_tokens_details).toEqual({ cached_tokens: 0 });
      // Whole blocks, at most prompt − 1 tokens: vLLM recomputes the last token.
      const hit = Math.floor((prompt - 1) / B) * B;
      expect((await ask()).prompt_tokens_details).toEqual({ cached_tokens: hit });
      const m = await scrape(h.app);
      expect(value(m, 'vllm:prefix_cache_queries_total')).toBe(2 * prompt);
      expect(value(m, 'vllm:prefix_cache_hits_total')).toBe(hit);

      expect((await h.app.inject({ method: 'POST', url: '/reset_prefix_cache' })).statusCode).toBe(200);
      expect((await ask()).prompt_tokens_details).toEqual({ cached_tokens: 0 });
    });

    it('publishes BlockStored for the prompt’s full blocks with its token ids, and AllBlocksCleared on reset', async () => {
      const h = await harness({ kvEvents: true });
      const content = prose(100, 3);
      await h.app.inject({ method: 'POST', url: '/v1/chat/completions', payload: chatBody(content, { max_tokens: 1 }) });
      const prompt = chatPromptTokens(llama3Tokenizer, [{ role: 'user', content }]);
      const stored = h.kvBatches.flatMap((b) => b.events).filter((e) => e.type === 'BlockStored');
      expect(stored.length).toBeGreaterThan(0);
      const first = stored[0]!;
      if (first.type !== 'BlockStored') throw new Error('unreachable');
      expect(first.parentBlockHash).toBeNull();
      expect(first.blockSize).toBe(B);
      const full = Math.floor(prompt.length / B);
      expect(first.blockHashes).toHaveLength(full);
      expect(first.tokenIds).toEqual(prompt.slice(0, full * B));
      await h.app.inject({ method: 'POST', url: '/reset_prefix_cache' });
      expect(h.kvBatches.at(-1)!.events).toEqual([{ type: 'AllBlocksCleared' }]);
    });
  });

  describe('streaming under load', () => {
    it('interleaves concurrent streams, each complete', async () => {
      const h = await harness({ timeScale: 0 });
      const streams = await Promise.all(
        [0, 1, 2].map((i) =>
          h.app.inject({
            method: 'POST',
            url: '/v1/chat/completions',
            payload: chatBody(`stream ${i}`, { max_tokens: 20, ignore_eos: true, stream: true }),
          }),
        ),
      );
      for (const s of streams) {
        const { events, done } = parseSse(s.body);
        // role + 20 tokens
        expect(events).toHaveLength(21);
        expect(done).toBe(true);
      }
      const m = await scrape(h.app);
      expect(value(m, 'vllm:request_success_total', { finished_reason: 'length' })).toBe(3);
      expect(value(m, 'vllm:generation_tokens_total')).toBe(60);
    });
  });
});
