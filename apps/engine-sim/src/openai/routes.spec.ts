import { chatPromptTokens, completionPromptTokens, llama3Tokenizer } from '@brix/tokenizer';
import { type Harness, MODEL, chatBody, parseSse, prose, startHarness } from '../testing/harness';

const EOT = 128009;

describe('engine-sim OpenAI routes (app.inject)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      settings: { loraModules: [{ name: 'sql-lora', path: '/adapters/sql' }] },
      engine: { enableLora: true },
    });
  });
  afterAll(() => h.app.close());

  const post = (url: string, payload: unknown) => h.app.inject({ method: 'POST', url, payload: payload as object });

  describe('chat completions', () => {
    it('answers with vLLM 0.11 chat.completion shape, counting prompt tokens on the Llama-3 chat template', async () => {
      const messages = [
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: 'Name three prime numbers.' },
      ];
      const res = await post('/v1/chat/completions', {
        model: MODEL,
        messages,
        max_tokens: 7,
        ignore_eos: true,
        return_token_ids: true,
      });
      expect(res.statusCode).toBe(200);
      const body = res.json();
      expect(body.id).toMatch(/^chatcmpl-[0-9a-f]{32}$/);
      expect(body).toMatchObject({ object: 'chat.completion', created: 1_764_100_000, model: MODEL });
      expect(Object.keys(body).sort()).toEqual(
        [
          'choices',
          'created',
          'id',
          'kv_transfer_params',
          'model',
          'object',
          'prompt_logprobs',
          'prompt_token_ids',
          'service_tier',
          'system_fingerprint',
          'usage',
        ].sort(),
      );
      const expectedPrompt = chatPromptTokens(llama3Tokenizer, messages);
      expect(body.prompt_token_ids).toEqual(expectedPrompt);
      // ignore_eos with max_tokens 7: exactly 7 tokens, cut by length
      expect(body.usage).toEqual({
        prompt_tokens: expectedPrompt.length,
        completion_tokens: 7,
        total_tokens: expectedPrompt.length + 7,
        prompt_tokens_details: null,
      });
      const choice = body.choices[0];
      expect(choice).toMatchObject({ index: 0, finish_reason: 'length', stop_reason: null, logprobs: null });
      expect(choice.message).toMatchObject({ role: 'assistant', tool_calls: [], reasoning_content: null });
      // The text is what the token ids decode to.
      expect(choice.token_ids).toHaveLength(7);
      expect(choice.message.content).toBe(llama3Tokenizer.decode(choice.token_ids));
    });

    it('ends a natural-length answer with EOS: finish_reason stop, EOS counted but not in the text', async () => {
      const res = await post('/v1/chat/completions', chatBody('Tell me about caches.', { return_token_ids: true }));
      const choice = res.json().choices[0];
      expect(choice.finish_reason).toBe('stop');
      expect(choice.token_ids.at(-1)).toBe(EOT);
      expect(res.json().usage.completion_tokens).toBe(choice.token_ids.length);
      expect(choice.message.content).toBe(llama3Tokenizer.decode(choice.token_ids.slice(0, -1)));
    });

    it.each([
      // min_tokens 30 suppresses EOS until 30 tokens; max 40 caps it
      { params: { min_tokens: 30, max_tokens: 40 }, min: 30, max: 40 },
      // max_completion_tokens wins over max_tokens (vLLM reads it first)
      { params: { max_completion_tokens: 3, max_tokens: 50, ignore_eos: true }, min: 3, max: 3 },
    ])('honours length parameters $params', async ({ params, min, max }) => {
      const res = await post('/v1/chat/completions', chatBody('Lengths.', params));
      const n = res.json().usage.completion_tokens;
      expect(n).toBeGreaterThanOrEqual(min);
      expect(n).toBeLessThanOrEqual(max);
    });

    it('streams one chunk per token: role chunk, content chunks, finish on the last, usage, [DONE]', async () => {
      const res = await post('/v1/chat/completions', {
        ...chatBody('Stream, please.'),
        max_tokens: 6,
        ignore_eos: true,
        stream: true,
        stream_options: { include_usage: true },
      });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe('text/event-stream; charset=utf-8');
      const { events, done } = parseSse(res.body);
      expect(done).toBe(true);
      // 1 role chunk + 6 token chunks + 1 usage chunk
      expect(events).toHaveLength(8);
      const id = events[0]!.id;
      expect(events.every((e) => e.id === id && e.object === 'chat.completion.chunk' && e.model === MODEL)).toBe(true);
      expect(events[0]).toEqual({
        id,
        object: 'chat.completion.chunk',
        created: 1_764_100_000,
        model: MODEL,
        choices: [{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null, token_ids: null }],
        prompt_token_ids: null,
      });
      const content = events.slice(1, 7);
      for (const e of content.slice(0, 5)) {
        expect(e.choices).toEqual([
          { index: 0, delta: { content: expect.any(String) }, logprobs: null, finish_reason: null, token_ids: null },
        ]);
        expect(e).not.toHaveProperty('usage');
      }
      expect((content[5]!.choices as unknown[])[0]).toEqual({
        index: 0,
        delta: { content: expect.any(String) },
        logprobs: null,
        finish_reason: 'length',
        stop_reason: null,
        token_ids: null,
      });
      const prompt = chatPromptTokens(llama3Tokenizer, [{ role: 'user', content: 'Stream, please.' }]).length;
      expect(events[7]).toEqual({
        id,
        object: 'chat.completion.chunk',
        created: 1_764_100_000,
        model: MODEL,
        choices: [],
        usage: { prompt_tokens: prompt, total_tokens: prompt + 6, completion_tokens: 6 },
      });
    });

    it('adds no usage chunk without stream_options, and usage to every chunk with continuous_usage_stats', async () => {
      const plain = parseSse(
        (await post('/v1/chat/completions', chatBody('a', { max_tokens: 3, ignore_eos: true, stream: true }))).body,
      );
      // role + 3 tokens, no usage anywhere
      expect(plain.events).toHaveLength(4);
      expect(plain.events.some((e) => 'usage' in e)).toBe(false);

      const cont = parseSse(
        (
          await post(
            '/v1/chat/completions',
            chatBody('a', { max_tokens: 3, ignore_eos: true, stream: true, stream_options: { continuous_usage_stats: true } }),
          )
        ).body,
      );
      // include_usage defaults to true once stream_options is sent: role + 3 tokens + usage
      expect(cont.events).toHaveLength(5);
      const completion = cont.events.map((e) => (e.usage as { completion_tokens: number }).completion_tokens);
      // the role chunk counts 0, then 1, 2, 3; the final chunk the total
      expect(completion).toEqual([0, 1, 2, 3, 3]);
    });

    it('streams an EOS ending as an empty last content with finish_reason stop', async () => {
      const { events } = parseSse((await post('/v1/chat/completions', chatBody('Short answer.', { stream: true }))).body);
      const last = events.at(-1)!.choices as Array<{ delta: { content: string }; finish_reason: string }>;
      expect(last[0]).toMatchObject({ delta: { content: '' }, finish_reason: 'stop' });
    });
  });

  describe('completions', () => {
    it('defaults to 16 tokens and counts BOS + prompt tokens', async () => {
      const prompt = 'Once upon a time';
      const res = await post('/v1/completions', { model: MODEL, prompt, ignore_eos: true });
      expect(res.statusCode).toBe(200);
      const body = res.json();
      expect(body.id).toMatch(/^cmpl-[0-9a-f]{32}$/);
      expect(body.object).toBe('text_completion');
      const p = completionPromptTokens(llama3Tokenizer, prompt).length;
      // OpenAI's completion default max_tokens is 16
      expect(body.usage).toEqual({ prompt_tokens: p, completion_tokens: 16, total_tokens: p + 16, prompt_tokens_details: null });
      expect(body.choices[0]).toEqual({
        index: 0,
        text: expect.any(String),
        logprobs: null,
        finish_reason: 'length',
        stop_reason: null,
        prompt_logprobs: null,
        prompt_token_ids: null,
        token_ids: null,
      });
    });

    it('streams text_completion chunks with every field present, usage null, then [DONE]', async () => {
      const { events, done } = parseSse(
        (await post('/v1/completions', { prompt: 'Hi', max_tokens: 4, ignore_eos: true, stream: true })).body,
      );
      expect(done).toBe(true);
      // one chunk per token, no role chunk, no usage chunk
      expect(events).toHaveLength(4);
      for (const [i, e] of events.entries()) {
        expect(e).toEqual({
          id: events[0]!.id,
          object: 'text_completion',
          created: 1_764_100_000,
          model: MODEL,
          choices: [
            {
              index: 0,
              text: expect.any(String),
              logprobs: null,
              finish_reason: i === 3 ? 'length' : null,
              stop_reason: null,
              prompt_token_ids: null,
              token_ids: null,
            },
          ],
          usage: null,
        });
      }
    });

    it('takes token-id prompts as given and a list of prompts as one choice each', async () => {
      const ids = [128000, 9906, 1917];
      const single = (await post('/v1/completions', { prompt: ids, max_tokens: 2, ignore_eos: true })).json();
      expect(single.usage.prompt_tokens).toBe(3);
      const multi = (await post('/v1/completions', { prompt: ['one', 'two words'], max_tokens: 2, ignore_eos: true })).json();
      expect(multi.choices.map((c: { index: number }) => c.index)).toEqual([0, 1]);
      // BOS + 1 token, BOS + 2 tokens; 2 generated each
      expect(multi.usage).toMatchObject({ prompt_tokens: 5, completion_tokens: 4 });
    });
  });

  describe('embeddings', () => {
    it('returns unit vectors of the hidden size, deterministic per input, as floats or base64 float32', async () => {
      const a = (await post('/v1/embeddings', { model: MODEL, input: ['alpha beta', 'gamma'] })).json();
      expect(a.id).toMatch(/^embd-/);
      expect(a.object).toBe('list');
      expect(a.data).toHaveLength(2);
      const v0 = a.data[0].embedding as number[];
      // Llama-3-8B's hidden size
      expect(v0).toHaveLength(4096);
      const norm = Math.sqrt(v0.reduce((s, x) => s + x * x, 0));
      expect(norm).toBeCloseTo(1, 4);
      // BOS + "alpha beta" (2 tokens) + BOS + "gamma" (2 tokens: g, amma)
      const expectedTokens =
        completionPromptTokens(llama3Tokenizer, 'alpha beta').length + completionPromptTokens(llama3Tokenizer, 'gamma').length;
      expect(a.usage).toEqual({
        prompt_tokens: expectedTokens,
        total_tokens: expectedTokens,
        completion_tokens: 0,
        prompt_tokens_details: null,
      });

      const b = (await post('/v1/embeddings', { input: 'alpha beta', encoding_format: 'base64' })).json();
      const bytes = Buffer.from(b.data[0].embedding as string, 'base64');
      const decoded = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
      expect(Array.from(decoded)).toEqual(v0);
    });

    it('refuses other dimensions (no matryoshka)', async () => {
      const res = await post('/v1/embeddings', { input: 'x', dimensions: 64 });
      expect(res.statusCode).toBe(400);
      expect(res.json().error.type).toBe('BadRequestError');
    });
  });

  describe('models, tokenizer, misc', () => {
    it('lists the base model and LoRA adapters with vLLM root and parent', async () => {
      const body = (await h.app.inject({ method: 'GET', url: '/v1/models' })).json();
      expect(body.object).toBe('list');
      expect(body.data).toHaveLength(2);
      expect(body.data[0]).toMatchObject({
        id: MODEL,
        object: 'model',
        owned_by: 'vllm',
        root: 'llama-3-8b',
        parent: null,
        max_model_len: 2048,
      });
      expect(body.data[0].permission[0]).toMatchObject({ object: 'model_permission', allow_sampling: true });
      expect(body.data[1]).toMatchObject({ id: 'sql-lora', root: '/adapters/sql', parent: MODEL, max_model_len: null });
    });

    it('serves a loaded adapter by its name', async () => {
      const res = await post('/v1/completions', { model: 'sql-lora', prompt: 'SELECT', max_tokens: 2 });
      expect(res.statusCode).toBe(200);
      expect(res.json().model).toBe('sql-lora');
    });

    it('tokenizes prompts and chats and detokenizes ids', async () => {
      const t = (await post('/tokenize', { model: MODEL, prompt: 'Hello world' })).json();
      // BOS, "Hello", " world"
      expect(t).toEqual({ count: 3, max_model_len: 2048, tokens: [128000, 9906, 1917], token_strs: null });
      const strs = (
        await post('/tokenize', { prompt: 'Hello world', add_special_tokens: false, return_token_strs: true })
      ).json();
      expect(strs.token_strs).toEqual(['Hello', ' world']);
      const messages = [{ role: 'user', content: 'Hi' }];
      const chat = (await post('/tokenize', { messages })).json();
      expect(chat.tokens).toEqual(chatPromptTokens(llama3Tokenizer, messages));
      const noGen = (await post('/tokenize', { messages, add_generation_prompt: false })).json();
      // without the assistant header: <|start_header_id|> assistant <|end_header_id|> "\n\n" are 4 tokens
      expect(noGen.count).toBe(chat.count - 4);
      expect((await post('/detokenize', { tokens: [9906, 1917] })).json()).toEqual({ prompt: 'Hello world' });
    });

    it('answers /version, /load, /health and /ping as vLLM does', async () => {
      expect((await h.app.inject({ method: 'GET', url: '/version' })).json()).toEqual({ version: '0.11.0' });
      expect((await h.app.inject({ method: 'GET', url: '/load' })).json()).toEqual({ server_load: 0 });
      const health = await h.app.inject({ method: 'GET', url: '/health' });
      expect(health.statusCode).toBe(200);
      expect(health.body).toBe('');
      expect((await h.app.inject({ method: 'POST', url: '/ping' })).statusCode).toBe(200);
    });
  });

  describe('client errors: vLLM bodies and statuses, never 500', () => {
    const long = prose(2500); // one token per word and more: over the 2048-token context

    it.each([
      {
        what: 'unknown model',
        url: '/v1/chat/completions',
        payload: { model: 'gpt-4', messages: [{ role: 'user', content: 'x' }] },
        status: 404,
        type: 'NotFoundError',
        message: /^The model `gpt-4` does not exist\.$/,
      },
      {
        what: 'prompt too long',
        url: '/v1/completions',
        payload: { prompt: long, max_tokens: 1 },
        status: 400,
        type: 'BadRequestError',
        message: /^This model's maximum context length is 2048 tokens\. However, your request has \d+ input tokens\./,
      },
      {
        what: 'max_tokens too large',
        url: '/v1/chat/completions',
        payload: chatBody('x', { max_tokens: 5000 }),
        status: 400,
        type: 'BadRequestError',
        message: /^'max_tokens' or 'max_completion_tokens' is too large: 5000\./,
      },
      {
        what: 'max_tokens below 1',
        url: '/v1/completions',
        payload: { prompt: 'x', max_tokens: 0 },
        status: 400,
        type: 'BadRequestError',
        message: /max_tokens must be at least 1/,
      },
      {
        what: 'missing messages',
        url: '/v1/chat/completions',
        payload: { model: MODEL },
        status: 400,
        type: 'Bad Request',
        message: /messages/,
      },
      {
        what: 'wrong type',
        url: '/v1/completions',
        payload: { prompt: 42 },
        status: 400,
        type: 'Bad Request',
        message: /prompt/,
      },
      {
        what: 'n > 1',
        url: '/v1/chat/completions',
        payload: chatBody('x', { n: 2 }),
        status: 400,
        type: 'BadRequestError',
        message: /n=1/,
      },
      {
        what: 'stream_options without stream',
        url: '/v1/chat/completions',
        payload: chatBody('x', { stream_options: { include_usage: true } }),
        status: 400,
        type: 'BadRequestError',
        message: /^Stream options can only be defined when `stream=True`\.$/,
      },
      {
        what: 'min_tokens above max_tokens',
        url: '/v1/completions',
        payload: { prompt: 'x', max_tokens: 2, min_tokens: 5 },
        status: 400,
        type: 'BadRequestError',
        message: /^min_tokens must be less than or equal to max_tokens=2, got 5\.$/,
      },
      {
        what: 'token id out of vocabulary',
        url: '/v1/completions',
        payload: { prompt: [1, 999_999] },
        status: 400,
        type: 'BadRequestError',
        message: /999999 is out of vocabulary/,
      },
      {
        what: 'image content',
        url: '/v1/chat/completions',
        payload: { messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }] },
        status: 400,
        type: 'BadRequestError',
        message: /text/,
      },
      {
        what: 'tokenize without prompt or messages',
        url: '/tokenize',
        payload: {},
        status: 400,
        type: 'Bad Request',
        message: /prompt/,
      },
    ])('$what → $status $type', async ({ url, payload, status, type, message }) => {
      const res = await post(url, payload);
      expect(res.statusCode).toBe(status);
      const body = res.json();
      expect(body).toEqual({ error: { message: expect.any(String), type, param: null, code: status } });
      expect(body.error.message).toMatch(message);
    });

    it('answers invalid JSON with 400 Bad Request', async () => {
      const res = await h.app.inject({
        method: 'POST',
        url: '/v1/chat/completions',
        headers: { 'content-type': 'application/json' },
        payload: '{"messages": [',
      });
      expect(res.statusCode).toBe(400);
      expect(res.json().error).toMatchObject({ type: 'Bad Request', code: 400 });
    });

    it('has no LoRA update routes unless runtime updating is allowed', async () => {
      const res = await post('/v1/load_lora_adapter', { lora_name: 'x', lora_path: '/x' });
      expect(res.statusCode).toBe(404);
    });
  });
});
