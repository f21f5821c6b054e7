import { randomUUID } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { type Clock } from '@brix/clock';
import { type FinishedRequest, type SimEngine } from '@brix/engine-model';
import { type HttpApp } from '@brix/http';
import { type Logger } from '@brix/observability';
import { type ChatMessage as TemplateMessage, type Tokenizer, renderLlama3Chat } from '@brix/tokenizer';
import { type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { type FastifyReply } from 'fastify';
import { type FaultInjector } from '../faults';
import { type VllmMetrics } from '../metrics/vllm-metrics';
import { type PromptEncoder } from '../prompt';
import { type SyntheticText } from '../text';
import { embeddingBase64, embeddingVector } from './embeddings';
import { VllmError, sendVllmError, validationError, vllmErrorHandler } from './errors';
import { Generation } from './generation';
import {
  ChatCompletionRequest,
  type ChatMessage,
  type ChoiceResult,
  CompletionRequest,
  DetokenizeRequest,
  EmbeddingRequest,
  LoadLoraRequest,
  type PromptInput,
  type ResponseHead,
  TokenizeRequest,
  UnloadLoraRequest,
  type Usage,
  chatCompletionResponse,
  chatDeltaChunk,
  chatRoleChunk,
  completionChunk,
  completionResponse,
  modelCard,
  usage,
  usageChunk,
} from './protocol';

/** What the vLLM routes serve from; built once by `buildApp`. */
export interface ServingContext {
  settings: {
    /** Names the base model answers to; the first one names responses and metrics. */
    servedModelNames: string[];
    /** The `--model` value: the base model card's `root`. */
    modelRoot: string;
    maxModelLen: number;
    vocabSize: number;
    /** `/version` answer. */
    release: string;
    runtimeLoraUpdating: boolean;
    forceIncludeUsage: boolean;
    promptTokensDetails: boolean;
    embeddingSize: number;
    seed: number;
  };
  engine: SimEngine;
  text: SyntheticText;
  tokenizer: Tokenizer;
  encoder: PromptEncoder;
  metrics: VllmMetrics;
  faults: FaultInjector;
  /** The engine's clock: request arrival times and latency spikes. */
  clock: Clock;
  /** Epoch time for `created` fields. */
  wall: Clock;
  /** Paths of adapters by name (the `root` of their model cards). */
  adapterPaths: Map<string, string>;
  /** Serving state: ready after the start-up delay; stalled while the stall fault is on. */
  health: () => { ready: boolean; stalled: boolean };
  /** Called when the crash fault fires (the process exits). */
  exit: (code: number) => void;
  /** Inference requests being served (vLLM's `/load` server_load). */
  load: { inFlight: number };
  logger: Logger;
}

const uuidHex = () => randomUUID().replace(/-/g, '');

/** A request's model: the base model (by any served name, or omitted) or a loaded LoRA adapter. */
function resolveModel(ctx: ServingContext, model: string | null | undefined): { name: string; adapter: string | null } {
  const names = ctx.settings.servedModelNames;
  if (model === undefined || model === null || model === '') return { name: names[0]!, adapter: null };
  if (names.includes(model)) return { name: model, adapter: null };
  if (ctx.adapterPaths.has(model)) return { name: model, adapter: model };
  throw new VllmError(404, 'NotFoundError', `The model \`${model}\` does not exist.`);
}

function checkTokenIds(ctx: ServingContext, ids: readonly number[]): void {
  for (const id of ids) {
    if (id < 0 || id >= ctx.settings.vocabSize)
      throw new VllmError(400, 'BadRequestError', `Token id ${id} is out of vocabulary`);
  }
}

/** The messages for the chat template; parts other than text (images, audio) are refused. */
function textOnly(messages: readonly ChatMessage[]): TemplateMessage[] {
  return messages.map((m) => {
    if (Array.isArray(m.content) && m.content.some((p) => p.type !== 'text')) {
      throw new VllmError(400, 'BadRequestError', 'Only text content parts are supported by this model.');
    }
    return { role: m.role, content: m.content ?? null };
  });
}

/** Prompts of a completion or embedding input: strings are encoded (BOS prepended), token ids used as given. */
function promptsOf(ctx: ServingContext, input: PromptInput, encode: (s: string) => number[]): number[][] {
  if (typeof input === 'string') return [encode(input)];
  if (input.length > 0 && typeof input[0] === 'string') return (input as string[]).map(encode);
  if (typeof input[0] === 'number') {
    checkTokenIds(ctx, input as number[]);
    return [input as number[]];
  }
  const lists = input as number[][];
  for (const ids of lists) checkTokenIds(ctx, ids);
  return lists;
}

function checkSamplingParams(
  body: { n?: number | null; stream?: boolean | null; stream_options?: unknown; min_tokens?: number | null },
  maxTokens: number | undefined,
): void {
  if (body.n !== undefined && body.n !== null && body.n !== 1) {
    throw new VllmError(400, 'BadRequestError', `engine-sim generates one choice per prompt (n=1); got n=${body.n}.`);
  }
  if (body.stream_options !== undefined && body.stream_options !== null && !body.stream) {
    throw new VllmError(400, 'BadRequestError', 'Stream options can only be defined when `stream=True`.');
  }
  const min = body.min_tokens;
  if (min !== undefined && min !== null && maxTokens !== undefined && min > maxTokens) {
    throw new VllmError(400, 'BadRequestError', `min_tokens must be less than or equal to max_tokens=${maxTokens}, got ${min}.`);
  }
}

/**
 * The readiness and fault gate of inference requests. Returns the spike delay (simulated ms) when the request
 * may go on, or null when an answer was sent (not ready, injected error). The crash fault exits the process.
 */
function admit(ctx: ServingContext, reply: FastifyReply): number | null {
  if (!ctx.health().ready) {
    sendVllmError(reply, new VllmError(503, 'ServiceUnavailableError', 'The engine is starting.'));
    return null;
  }
  const d = ctx.faults.admit();
  if (d.kind === 'crash') {
    ctx.logger.error({ after: ctx.faults.settings.crashAfterRequests }, 'injected crash: exiting');
    ctx.exit(1);
    // Reached only where exit does not end the process (tests).
    sendVllmError(reply, new VllmError(503, 'ServiceUnavailableError', 'The engine crashed (injected fault).'));
    return null;
  }
  if (d.kind === 'error') {
    const err =
      d.status === 500
        ? new VllmError(500, 'InternalServerError', 'The engine failed this request (injected fault).')
        : new VllmError(503, 'ServiceUnavailableError', 'The engine is unavailable (injected fault).');
    sendVllmError(reply, err);
    return null;
  }
  ctx.load.inFlight++;
  let counted = true;
  const release = () => {
    if (counted) ctx.load.inFlight--;
    counted = false;
  };
  reply.raw.once('close', release);
  reply.raw.once('finish', release);
  return d.delayMs;
}

interface StreamOptionsResolved {
  includeUsage: boolean;
  continuousUsage: boolean;
}

/** vLLM: usage chunks only when stream_options is sent (include_usage defaults to true there) or forced. */
function streamOptions(
  ctx: ServingContext,
  opts: { include_usage?: boolean | null; continuous_usage_stats?: boolean | null } | null | undefined,
): StreamOptionsResolved {
  if (ctx.settings.forceIncludeUsage) return { includeUsage: true, continuousUsage: opts?.continuous_usage_stats ?? false };
  if (!opts) return { includeUsage: false, continuousUsage: false };
  return { includeUsage: opts.include_usage ?? true, continuousUsage: opts.continuous_usage_stats ?? false };
}

type Kind = 'chat' | 'completion';

interface RunOptions {
  kind: Kind;
  head: ResponseHead;
  prompts: number[][];
  adapter: string | null;
  maxTokens?: number;
  minTokens?: number;
  ignoreEos?: boolean;
  arrivalMs: number;
  delayMs: number;
  stream: boolean;
  streamOptions: StreamOptionsResolved;
  returnTokenIds: boolean;
}

function totalUsage(ctx: ServingContext, results: FinishedRequest[]): Usage {
  let prompt = 0;
  let completion = 0;
  let cached = 0;
  for (const r of results) {
    prompt += r.promptTokens;
    completion += r.outputTokens;
    cached += r.cachedPromptTokens;
  }
  return usage(prompt, completion, ctx.settings.promptTokensDetails ? cached : null);
}

/** Runs a chat or completion request and answers it, streamed (one SSE chunk per token) or whole. */
async function run(ctx: ServingContext, reply: FastifyReply, o: RunOptions): Promise<unknown> {
  if (o.delayMs > 0) await ctx.clock.sleep(o.delayMs);
  const texts = o.prompts.map(() => '');
  const tokenIds: number[][] = o.prompts.map(() => []);
  const counts = o.prompts.map(() => 0);
  const request = {
    id: o.head.id,
    prompts: o.prompts,
    adapter: o.adapter,
    ...(o.maxTokens !== undefined ? { maxTokens: o.maxTokens } : {}),
    ...(o.minTokens !== undefined ? { minTokens: o.minTokens } : {}),
    ...(o.ignoreEos !== undefined ? { ignoreEos: o.ignoreEos } : {}),
    arrivalMs: o.arrivalMs,
  };
  const deps = { engine: ctx.engine, text: ctx.text, metrics: ctx.metrics };

  if (!o.stream) {
    let generation: Generation | undefined;
    const results = await new Promise<FinishedRequest[]>((resolve, reject) => {
      try {
        generation = Generation.start(deps, request, {
          onToken: (i, text, tokenId) => {
            texts[i] += text;
            tokenIds[i]!.push(tokenId);
          },
          onDone: resolve,
        });
      } catch (err) {
        reject(err);
        return;
      }
      reply.raw.once('close', () => {
        if (!reply.raw.writableFinished) generation?.abort();
      });
    });
    if (results.some((r) => r.finishReason === 'abort')) {
      throw new VllmError(500, 'InternalServerError', 'The request was aborted before it finished.');
    }
    const choices: ChoiceResult[] = results.map((r, i) => ({
      index: i,
      text: texts[i]!,
      finishReason: r.finishReason,
      promptTokenIds: o.prompts[i]!,
      tokenIds: tokenIds[i]!,
    }));
    const u = totalUsage(ctx, results);
    return o.kind === 'chat'
      ? chatCompletionResponse(o.head, choices, u, o.returnTokenIds)
      : completionResponse(o.head, choices, u, o.returnTokenIds);
  }

  const out = new PassThrough();
  const write = (obj: unknown) => {
    if (!out.destroyed && !out.writableEnded) out.write(`data: ${JSON.stringify(obj)}\n\n`);
  };
  const promptLens = o.prompts.map((p) => p.length);
  const promptTotal = promptLens.reduce((a, b) => a + b, 0);
  const running = (i: number) => (o.streamOptions.continuousUsage ? usage(promptTotal, counts[i]!, null) : null);
  const generation = Generation.start(deps, request, {
    onToken: (i, text, tokenId, finishReason) => {
      const first = counts[i] === 0;
      counts[i]!++;
      const ids = o.returnTokenIds ? [tokenId] : null;
      if (o.kind === 'chat') {
        if (first) {
          const roleUsage = o.streamOptions.continuousUsage ? usage(promptTotal, 0, null) : null;
          write(chatRoleChunk(o.head, i, o.returnTokenIds ? o.prompts[i]! : null, roleUsage));
        }
        write(chatDeltaChunk(o.head, i, text, finishReason, ids, running(i)));
      } else {
        write(completionChunk(o.head, i, text, finishReason, o.returnTokenIds && first ? o.prompts[i]! : null, ids, running(i)));
      }
    },
    onDone: (results) => {
      if (results.some((r) => r.finishReason === 'abort')) {
        write(new VllmError(500, 'InternalServerError', 'The request was aborted before it finished.').toBody());
      } else if (o.streamOptions.includeUsage) {
        write(usageChunk(o.head, o.kind === 'chat' ? 'chat.completion.chunk' : 'text_completion', totalUsage(ctx, results)));
      }
      if (!out.destroyed && !out.writableEnded) out.end('data: [DONE]\n\n');
    },
  });
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) generation.abort();
  });
  reply.header('content-type', 'text/event-stream; charset=utf-8').header('cache-control', 'no-cache');
  reply.send(out);
  // Headers go out now (as vLLM's streaming response does); the first chunk follows with the first token.
  reply.raw.flushHeaders?.();
  return reply;
}

/** Registers vLLM's OpenAI-compatible routes, with vLLM's error bodies, on an encapsulated scope of `app`. */
export function registerVllmRoutes(app: HttpApp, ctx: ServingContext): void {
  app.register(async (plugin) => {
    const scope = plugin.withTypeProvider<TypeBoxTypeProvider>();
    scope.setErrorHandler(vllmErrorHandler(ctx.logger));
    const created = () => Math.floor(ctx.wall.now() / 1000);
    const { settings } = ctx;

    scope.post('/v1/chat/completions', { schema: { body: ChatCompletionRequest } }, async (request, reply) => {
      const arrivalMs = ctx.clock.now();
      const body = request.body;
      const model = resolveModel(ctx, body.model);
      const maxTokens = body.max_completion_tokens ?? body.max_tokens ?? undefined;
      checkSamplingParams(body, maxTokens);
      const prompt = ctx.encoder.chat(textOnly(body.messages));
      const delayMs = admit(ctx, reply);
      if (delayMs === null) return reply;
      return run(ctx, reply, {
        kind: 'chat',
        head: { id: `chatcmpl-${uuidHex()}`, created: created(), model: model.name },
        prompts: [prompt],
        adapter: model.adapter,
        ...(maxTokens !== undefined ? { maxTokens } : {}),
        ...(body.min_tokens !== undefined && body.min_tokens !== null ? { minTokens: body.min_tokens } : {}),
        ...(body.ignore_eos !== undefined && body.ignore_eos !== null ? { ignoreEos: body.ignore_eos } : {}),
        arrivalMs,
        delayMs,
        stream: body.stream ?? false,
        streamOptions: streamOptions(ctx, body.stream_options),
        returnTokenIds: body.return_token_ids ?? false,
      });
    });

    scope.post('/v1/completions', { schema: { body: CompletionRequest } }, async (request, reply) => {
      const arrivalMs = ctx.clock.now();
      const body = request.body;
      const model = resolveModel(ctx, body.model);
      // OpenAI's (and vLLM's) completion default is 16 tokens.
      const maxTokens = body.max_tokens ?? 16;
      checkSamplingParams(body, maxTokens);
      const prompts = promptsOf(ctx, body.prompt, (s) => ctx.encoder.text(s));
      const delayMs = admit(ctx, reply);
      if (delayMs === null) return reply;
      return run(ctx, reply, {
        kind: 'completion',
        head: { id: `cmpl-${uuidHex()}`, created: created(), model: model.name },
        prompts,
        adapter: model.adapter,
        maxTokens,
        ...(body.min_tokens !== undefined && body.min_tokens !== null ? { minTokens: body.min_tokens } : {}),
        ...(body.ignore_eos !== undefined && body.ignore_eos !== null ? { ignoreEos: body.ignore_eos } : {}),
        arrivalMs,
        delayMs,
        stream: body.stream ?? false,
        streamOptions: streamOptions(ctx, body.stream_options),
        returnTokenIds: body.return_token_ids ?? false,
      });
    });

    scope.post('/v1/embeddings', { schema: { body: EmbeddingRequest } }, async (request, reply) => {
      const arrivalMs = ctx.clock.now();
      const body = request.body;
      const model = resolveModel(ctx, body.model);
      const size = settings.embeddingSize;
      if (body.dimensions !== undefined && body.dimensions !== null && body.dimensions !== size) {
        throw new VllmError(
          400,
          'BadRequestError',
          `Model "${model.name}" does not support matryoshka representation, changing output dimensions will lead to poor results.`,
        );
      }
      const addSpecial = body.add_special_tokens ?? true;
      const prompts = promptsOf(ctx, body.input, (s) => (addSpecial ? ctx.encoder.text(s) : ctx.encoder.text(s).slice(1)));
      for (const p of prompts) {
        if (p.length > settings.maxModelLen) {
          throw new VllmError(
            400,
            'BadRequestError',
            `This model's maximum context length is ${settings.maxModelLen} tokens. However, you requested ${p.length} tokens ` +
              'in the input for embedding generation. Please reduce the length of the input.',
          );
        }
      }
      const delayMs = admit(ctx, reply);
      if (delayMs === null) return reply;
      if (delayMs > 0) await ctx.clock.sleep(delayMs);
      // The engine runs each input as a prefill-only request: one step past the prompt, nothing streamed.
      let generation: Generation | undefined;
      const results = await new Promise<FinishedRequest[]>((resolve, reject) => {
        try {
          generation = Generation.start(
            { engine: ctx.engine, text: ctx.text, metrics: ctx.metrics },
            { id: `embd-${uuidHex()}`, prompts, adapter: model.adapter, maxTokens: 1, ignoreEos: true, arrivalMs },
            { onDone: resolve },
          );
        } catch (err) {
          reject(err);
          return;
        }
        reply.raw.once('close', () => {
          if (!reply.raw.writableFinished) generation?.abort();
        });
      });
      if (results.some((r) => r.finishReason === 'abort')) {
        throw new VllmError(500, 'InternalServerError', 'The request was aborted before it finished.');
      }
      const base64 = body.encoding_format === 'base64';
      const promptTokens = prompts.reduce((a, p) => a + p.length, 0);
      return {
        id: `embd-${uuidHex()}`,
        object: 'list',
        created: created(),
        model: model.name,
        data: prompts.map((p, index) => {
          const v = embeddingVector(p, size, settings.seed);
          return { index, object: 'embedding', embedding: base64 ? embeddingBase64(v) : Array.from(v) };
        }),
        usage: { prompt_tokens: promptTokens, total_tokens: promptTokens, completion_tokens: 0, prompt_tokens_details: null },
      };
    });

    scope.get('/v1/models', async () => {
      const now = created();
      const base = settings.servedModelNames.map((name) =>
        modelCard(name, now, settings.modelRoot, null, settings.maxModelLen, `modelperm-${uuidHex()}`),
      );
      const loras = ctx.engine
        .adapters()
        .map((name) =>
          modelCard(name, now, ctx.adapterPaths.get(name) ?? name, settings.servedModelNames[0]!, null, `modelperm-${uuidHex()}`),
        );
      return { object: 'list', data: [...base, ...loras] };
    });

    if (settings.runtimeLoraUpdating) {
      scope.post('/v1/load_lora_adapter', { schema: { body: LoadLoraRequest } }, async (request, reply) => {
        const { lora_name: name, lora_path: path } = request.body;
        if (!name || !path) throw new VllmError(400, 'InvalidUserInput', "Both 'lora_name' and 'lora_path' must be provided.");
        if (ctx.adapterPaths.has(name)) {
          throw new VllmError(400, 'InvalidUserInput', `The lora adapter '${name}' has already been loaded.`);
        }
        await ctx.engine.loadAdapter(name);
        ctx.adapterPaths.set(name, path);
        ctx.logger.info({ adapter: name, path }, 'LoRA adapter loaded');
        return reply
          .code(200)
          .header('content-type', 'text/plain; charset=utf-8')
          .send(`Success: LoRA adapter '${name}' added successfully.`);
      });

      scope.post('/v1/unload_lora_adapter', { schema: { body: UnloadLoraRequest } }, async (request, reply) => {
        const name = request.body.lora_name;
        if (!name) throw new VllmError(400, 'InvalidUserInput', "'lora_name' needs to be provided to unload a LoRA adapter.");
        if (!ctx.adapterPaths.has(name)) throw new VllmError(404, 'NotFoundError', `The lora adapter '${name}' cannot be found.`);
        ctx.engine.unloadAdapter(name);
        ctx.adapterPaths.delete(name);
        ctx.logger.info({ adapter: name }, 'LoRA adapter unloaded');
        return reply
          .code(200)
          .header('content-type', 'text/plain; charset=utf-8')
          .send(`Success: LoRA adapter '${name}' removed successfully.`);
      });
    }

    scope.post('/tokenize', { schema: { body: TokenizeRequest } }, async (request) => {
      const body = request.body;
      resolveModel(ctx, body.model);
      let tokens: number[];
      if (body.messages !== undefined) {
        let rendered = renderLlama3Chat(textOnly(body.messages));
        const header = '<|start_header_id|>assistant<|end_header_id|>\n\n';
        if (body.add_generation_prompt === false && rendered.endsWith(header)) rendered = rendered.slice(0, -header.length);
        tokens = ctx.tokenizer.encode(rendered, { addBos: body.add_special_tokens ?? false });
      } else if (body.prompt !== undefined) {
        tokens = ctx.tokenizer.encode(body.prompt, { addBos: body.add_special_tokens ?? true });
      } else {
        throw validationError("Invalid request: either 'prompt' or 'messages' is required");
      }
      return {
        count: tokens.length,
        max_model_len: settings.maxModelLen,
        tokens,
        token_strs: body.return_token_strs ? tokens.map((t) => ctx.tokenizer.decode([t])) : null,
      };
    });

    scope.post('/detokenize', { schema: { body: DetokenizeRequest } }, async (request) => {
      resolveModel(ctx, request.body.model);
      checkTokenIds(ctx, request.body.tokens);
      return { prompt: ctx.tokenizer.decode(request.body.tokens) };
    });

    const health = async (_request: unknown, reply: FastifyReply) => {
      const h = ctx.health();
      return reply.code(h.ready && !h.stalled ? 200 : 503).send();
    };
    scope.get('/health', health);
    scope.get('/ping', health);
    scope.post('/ping', health);
    scope.get('/version', async () => ({ version: settings.release }));
    scope.get('/load', async () => ({ server_load: ctx.load.inFlight }));

    scope.post('/reset_prefix_cache', async (_request, reply) => {
      // vLLM answers 200 either way; the reset only happens when no request holds blocks.
      if (!ctx.engine.resetPrefixCache()) ctx.logger.warn('prefix cache not reset: requests hold blocks');
      return reply.code(200).send();
    });
  });
}
