import { performance } from 'node:perf_hooks';
import { type Clock, type Rng } from '@brix/clock';
import { BrixError, type GatewayRequestStat, ModelNotFoundError, ServiceUnavailableError, UpstreamError } from '@brix/contracts';
import { type HttpApp, sendError } from '@brix/http';
import { type Logger } from '@brix/observability';
import { type RoutingRequest } from '@brix/routing';
import { estimateTokens } from '@brix/tokenizer';
import { type FastifyReply, type FastifyRequest } from 'fastify';
import { type Admission, type AdmissionTicket } from '../admission';
import { type GatewayMetrics } from '../metrics';
import { type PrefixHasher } from '../prefix/prefix-hasher';
import { type AttemptOutcome, type Upstream, type UpstreamResponse } from '../proxy/upstream';
import { isUsageOnlyChunk, SseSplitter, type Usage, usageOf } from '../proxy/sse';
import { type GatewayRouter } from '../routing-port';
import { type EngineRecord, type EngineStateStore } from '../state/engine-state';
import { parseRequestBody, type RequestBody, withMember } from './request-body';
import { ChatCompletionBody, chatPieces, CompletionBody, EmbeddingBody, promptPieces, tokenIdCount } from './schemas';

export interface InferenceDeps {
  store: EngineStateStore;
  router: GatewayRouter;
  hasher: PrefixHasher;
  upstream: Upstream;
  clock: Clock;
  rng: Rng;
  metrics: GatewayMetrics;
  admission: Admission;
  logger: Logger;
  /** Receives one stat per finished request (batched onto the bus by the caller). */
  recordStat: (stat: GatewayRequestStat) => void;
  settings: {
    defaultStrategy: string;
    maxRetries: number;
    injectUsage: boolean;
    defaultMaxTokens: number;
    engineApiKey: string;
  };
}

type Kind = 'chat' | 'completions' | 'embeddings';

const PATHS: Record<Kind, string> = {
  chat: '/v1/chat/completions',
  completions: '/v1/completions',
  embeddings: '/v1/embeddings',
};

declare module 'fastify' {
  interface FastifyRequest {
    /** The JSON body as received (forwarded to engines without re-serialising) and where its prompt lies. */
    requestBody?: RequestBody;
    /** performance.now() when the request arrived, for the gateway-overhead measurement. */
    arrivedAt: number;
  }
}

/** Where a model name points: a base model, or an adapter on a base model. */
interface Target {
  model: string;
  adapter?: string;
}

/**
 * The OpenAI-compatible inference routes: validate → resolve model → admit → route → forward (with
 * retries on other engines before the first byte) → stream or relay the answer → settle and record.
 */
export function registerInferenceRoutes(app: HttpApp, deps: InferenceDeps): void {
  const { store, router, metrics, settings } = deps;

  app.decorateRequest('requestBody', undefined);
  app.decorateRequest('arrivedAt', 0);
  app.addHook('onRequest', async (request) => {
    request.arrivedAt = performance.now();
  });
  // Keep the raw bytes: requests go to the engine as the client sent them, and long prompts are read from
  // those bytes rather than made into strings (request-body.ts says why).
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    const buf = body as Buffer;
    // An empty body is no body: routes whose schema requires one answer 400, the others proceed.
    if (buf.length === 0) return done(null, undefined);
    try {
      request.requestBody = parseRequestBody(buf);
      done(null, request.requestBody.value);
    } catch (cause) {
      const err = new Error((cause as Error).message) as Error & { code: string; statusCode: number };
      err.code = 'FST_ERR_CTP_INVALID_JSON_BODY';
      err.statusCode = 400;
      done(err, undefined);
    }
  });

  const resolve = (name: string): Target => {
    if (store.hasModel(name)) return { model: name };
    const base = store.adapters().get(name);
    if (base) return { model: base, adapter: name };
    throw new ModelNotFoundError(name);
  };

  const handle = (kind: Kind) => async (request: FastifyRequest, reply: FastifyReply) => {
    const body = request.body as ChatCompletionBody & CompletionBody & EmbeddingBody;
    await deps.admission.authenticate?.(request);
    const target = resolve(body.model);
    const strategyHeader = request.headers['routing-strategy'];
    const strategy = router.resolveStrategy(
      (typeof strategyHeader === 'string' && strategyHeader.trim()) || settings.defaultStrategy,
    );

    const stream = kind !== 'embeddings' && body.stream === true;
    // The route's schema requires a body, and the JSON parser gave it.
    const received = request.requestBody!;
    const pieces =
      kind === 'chat'
        ? chatPieces(body.messages, received.spans)
        : kind === 'completions'
          ? promptPieces(body.prompt, received.spans, 'prompt')
          : promptPieces(body.input, received.spans, 'input');
    // Every decision records the prefix for cache-aware policies (whatever strategy decides), so hash up front.
    const prompt = deps.hasher.hash(pieces, received.raw);
    const ids = kind === 'completions' ? tokenIdCount(body.prompt) : kind === 'embeddings' ? tokenIdCount(body.input) : undefined;
    const promptTokens = ids ?? estimateTokens(prompt.bytes);
    // n choices each produce up to max_tokens.
    const maxTokens =
      kind === 'embeddings' ? 0 : (body.max_completion_tokens ?? body.max_tokens ?? settings.defaultMaxTokens) * (body.n ?? 1);
    const ticket = await deps.admission.admit(request, { model: target.model, adapter: target.adapter, promptTokens, maxTokens });

    const sessionHeader = request.headers['x-session-id'];
    const routingRequest: RoutingRequest = {
      id: request.id,
      model: target.model,
      adapter: target.adapter,
      user: ticket.user,
      sessionId: typeof sessionHeader === 'string' ? sessionHeader : undefined,
      promptTokens,
      maxTokens,
      prefixHashes: prompt.hashes,
    };

    const clientAskedUsage = body.stream_options?.include_usage === true;
    const injectUsage = stream && settings.injectUsage && !clientAskedUsage;
    const payload = injectUsage
      ? withMember(received, 'stream_options', JSON.stringify({ ...(body.stream_options ?? {}), include_usage: true }))
      : received.raw;
    const headers: Record<string, string> = { 'content-type': 'application/json', 'x-request-id': request.id };
    if (settings.engineApiKey) headers['authorization'] = `Bearer ${settings.engineApiKey}`;

    const abort = new AbortController();
    const onClientClose = () => {
      if (!reply.raw.writableFinished) abort.abort();
    };
    reply.raw.on('close', onClientClose);

    const tokens = promptTokens + maxTokens;
    const tried = new Set<string>();
    let lastFailure: Extract<AttemptOutcome, { ok: false }> | undefined;
    let firstDispatch: number | undefined;
    const startedAt = deps.clock.now() - (performance.now() - request.arrivedAt);

    for (let attempt = 0; attempt <= settings.maxRetries; attempt++) {
      // An adapter request can only go to engines that have the adapter loaded.
      const candidates = store
        .candidates(target.model)
        .filter((e) => !tried.has(e.id) && (target.adapter === undefined || e.loadedAdapters.has(target.adapter)));
      if (candidates.length === 0) break;
      const t0 = performance.now();
      const decision = router.route(routingRequest, candidates, { now: deps.clock.now(), rng: deps.rng }, strategy);
      metrics.routing.observe({ strategy: decision.strategy }, (performance.now() - t0) / 1000);
      const engine = decision.engine as EngineRecord;
      tried.add(engine.id);
      store.beginRequest(engine.id, tokens);
      engine.breaker.onAttempt(deps.clock.now());
      firstDispatch ??= performance.now();
      const outcome = await deps.upstream.send({
        baseUrl: engine.url,
        path: PATHS[kind],
        body: payload,
        headers,
        signal: abort.signal,
      });
      if (!outcome.ok) {
        store.endRequest(engine.id, tokens);
        if (outcome.reason === 'aborted') {
          // The client went away; nothing to answer.
          ticket.settle(undefined);
          reply.raw.off('close', onClientClose);
          return reply.hijack();
        }
        engine.breaker.onFailure(deps.clock.now());
        metrics.retries.inc({ reason: outcome.reason });
        deps.logger.warn(
          { reqId: request.id, engine: engine.id, reason: outcome.reason, msg: outcome.message },
          'engine attempt failed',
        );
        lastFailure = outcome;
        continue;
      }
      // A stream is committed to this engine only once its first body chunk arrives: an engine that
      // sends headers and then dies (or stalls past the body timeout) is retried like one that refused.
      let first: FirstChunk | undefined;
      if (stream && outcome.response.statusCode === 200) {
        first = await readFirstChunk(outcome.response);
        if (!first.ok) {
          store.endRequest(engine.id, tokens);
          if (abort.signal.aborted) {
            ticket.settle(undefined);
            reply.raw.off('close', onClientClose);
            return reply.hijack();
          }
          engine.breaker.onFailure(deps.clock.now());
          metrics.retries.inc({ reason: 'stream' });
          deps.logger.warn(
            { reqId: request.id, engine: engine.id, msg: first.message },
            'engine stream failed before its first chunk',
          );
          lastFailure = { ok: false, reason: 'reset', message: first.message };
          continue;
        }
      }
      engine.breaker.onSuccess();
      const context: Finish = {
        request,
        reply,
        deps,
        kind,
        target,
        engine,
        strategy: decision.strategy,
        routingRequest,
        ticket,
        tokens,
        startedAt,
        firstDispatch,
        retries: tried.size - 1,
        stream,
        onClientClose,
      };
      if (first?.ok) return relayStream(context, first, injectUsage);
      return relayBody(context, outcome.response);
    }

    reply.raw.off('close', onClientClose);
    ticket.settle(undefined);
    for (const [k, v] of Object.entries(ticket.headers())) reply.header(k, v);
    if (tried.size === 0) {
      const what = target.adapter ? `adapter \`${target.adapter}\`` : `model \`${target.model}\``;
      throw new ServiceUnavailableError(`No ready engine serves ${what} right now; retry shortly.`, 1);
    }
    throw new UpstreamError(`The request failed on ${tried.size} engine(s); last error: ${lastFailure?.message ?? 'unknown'}.`);
  };

  app.post('/v1/chat/completions', { schema: { body: ChatCompletionBody } }, handle('chat'));
  app.post('/v1/completions', { schema: { body: CompletionBody } }, handle('completions'));
  app.post('/v1/embeddings', { schema: { body: EmbeddingBody } }, handle('embeddings'));

  app.get('/v1/models', async () => {
    const created = Math.floor(deps.clock.now() / 1000);
    const data: object[] = store
      .models()
      .map((id) => ({ id, object: 'model', created, owned_by: 'brix', root: id, parent: null }));
    for (const [adapter, base] of store.adapters()) {
      data.push({ id: adapter, object: 'model', created, owned_by: 'brix', root: adapter, parent: base });
    }
    return { object: 'list', data };
  });

  // Record every error answer by code (validation, 404, 429, 503 …) before the shared error handler sends it.
  app.addHook('onError', async (request, _reply, error) => {
    const code =
      error instanceof BrixError ? error.code : (error as { validation?: unknown }).validation ? 'invalid_request' : 'other';
    metrics.errors.inc({ code });
    const model = (request.body as { model?: unknown } | undefined)?.model;
    metrics.requests.inc({
      model: typeof model === 'string' ? model : '',
      status: String(error instanceof BrixError ? error.status : 400),
    });
  });
}

interface Finish {
  request: FastifyRequest;
  reply: FastifyReply;
  deps: InferenceDeps;
  kind: Kind;
  target: Target;
  engine: EngineRecord;
  strategy: string;
  routingRequest: RoutingRequest;
  ticket: AdmissionTicket;
  tokens: number;
  startedAt: number;
  firstDispatch: number;
  retries: number;
  stream: boolean;
  onClientClose: () => void;
}

function responseHeaders(f: Finish, contentType: string | undefined): Record<string, string> {
  return {
    'content-type': contentType ?? 'application/json',
    'x-request-id': f.request.id,
    'target-pod': f.engine.id,
    'routing-strategy': f.strategy,
    ...f.ticket.headers(),
  };
}

/** Finishes the books for one request: in-flight counts, admission, routing feedback, metrics, stats. */
function complete(
  f: Finish,
  status: number,
  usage: Usage | undefined,
  ttftMs: number | undefined,
  upstreamDoneAt: number,
  errorCode?: string,
): void {
  const { deps } = f;
  const now = performance.now();
  deps.store.endRequest(f.engine.id, f.tokens);
  f.ticket.settle(usage ? { promptTokens: usage.promptTokens, completionTokens: usage.completionTokens } : undefined);
  const ok = status < 400 && !errorCode;
  deps.router.completed(f.routingRequest, f.engine.id, {
    promptTokens: usage?.promptTokens ?? 0,
    completionTokens: usage?.completionTokens ?? 0,
    ok,
  });
  const latencyMs = now - f.request.arrivedAt;
  const overheadMs = f.firstDispatch - f.request.arrivedAt + (now - upstreamDoneAt);
  const model = f.target.adapter ?? f.target.model;
  deps.metrics.requests.inc({ model, status: String(status) });
  if (errorCode) deps.metrics.errors.inc({ code: errorCode });
  deps.metrics.latency.observe({ model }, latencyMs / 1000);
  deps.metrics.overhead.observe(overheadMs / 1000);
  if (ttftMs !== undefined) {
    deps.metrics.ttft.observe({ model }, ttftMs / 1000);
    if (usage && usage.completionTokens > 1)
      deps.metrics.tpot.observe({ model }, (latencyMs - ttftMs) / (usage.completionTokens - 1) / 1000);
  }
  deps.recordStat({
    requestId: f.request.id,
    model: f.target.model,
    ...(f.target.adapter ? { adapter: f.target.adapter } : {}),
    pod: f.engine.id,
    ...(f.ticket.user ? { user: f.ticket.user } : {}),
    strategy: f.strategy,
    status,
    ...(errorCode ? { errorCode } : {}),
    stream: f.stream,
    inputTokens: usage?.promptTokens ?? 0,
    outputTokens: usage?.completionTokens ?? 0,
    ...(usage?.cachedTokens !== undefined ? { cachedTokens: usage.cachedTokens } : {}),
    startedAt: f.startedAt,
    ...(ttftMs !== undefined ? { ttftMs } : {}),
    latencyMs,
    overheadMs: Math.max(0, overheadMs),
    retries: f.retries,
  });
}

async function relayBody(f: Finish, res: UpstreamResponse): Promise<FastifyReply> {
  const { reply } = f;
  let buf: Buffer;
  try {
    buf = Buffer.from(await res.body.arrayBuffer());
  } catch (err) {
    reply.raw.off('close', f.onClientClose);
    f.engine.breaker.onFailure(f.deps.clock.now());
    complete(f, 502, undefined, undefined, performance.now(), 'upstream_error');
    const error = new UpstreamError(`Engine ${f.engine.id} failed while answering: ${(err as Error).message}`);
    return sendError(reply.headers(responseHeaders(f, 'application/json')), error);
  }
  const upstreamDoneAt = performance.now();
  reply.raw.off('close', f.onClientClose);
  let usage: Usage | undefined;
  const contentType = res.headers['content-type'] as string | undefined;
  if (res.statusCode === 200 && contentType?.includes('json')) {
    try {
      usage = usageOf(JSON.parse(buf.toString('utf8')));
    } catch {
      usage = undefined;
    }
  }
  complete(f, res.statusCode, usage, undefined, upstreamDoneAt);
  return reply.code(res.statusCode).headers(responseHeaders(f, contentType)).send(buf);
}

type FirstChunk =
  | { ok: true; response: UpstreamResponse; chunk: Buffer; rest: AsyncIterator<unknown> }
  | { ok: false; message: string };

/** Waits for the first body chunk of a streamed answer; a stream that ends or fails first is a failed attempt. */
async function readFirstChunk(response: UpstreamResponse): Promise<FirstChunk> {
  const rest = response.body[Symbol.asyncIterator]();
  try {
    const next = await rest.next();
    if (next.done) return { ok: false, message: 'the engine ended the stream without sending anything' };
    return { ok: true, response, chunk: next.value as Buffer, rest };
  } catch (err) {
    return { ok: false, message: `the engine's stream failed before its first chunk: ${(err as Error).message}` };
  }
}

/** The first chunk, then the rest of the body. */
async function* chunksOf(first: Extract<FirstChunk, { ok: true }>): AsyncGenerator<Buffer> {
  yield first.chunk;
  for (let next = await first.rest.next(); !next.done; next = await first.rest.next()) yield next.value as Buffer;
}

async function relayStream(f: Finish, first: Extract<FirstChunk, { ok: true }>, injected: boolean): Promise<void> {
  const { reply } = f;
  const res = first.response;
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(200, {
    ...responseHeaders(f, (res.headers['content-type'] as string) ?? 'text/event-stream'),
    'cache-control': 'no-cache',
  });
  if (typeof raw.flushHeaders === 'function') raw.flushHeaders();

  let usage: Usage | undefined;
  let ttftMs: number | undefined;
  // Events with data, for charging a stream that ended without a usage chunk (client gone, engine died).
  let dataEvents = 0;
  let pendingWrites: string[] = [];
  const splitter = new SseSplitter((event) => {
    if (event.data === undefined) {
      if (injected) pendingWrites.push(event.raw + '\n\n');
      return;
    }
    if (event.data !== '[DONE]') {
      dataEvents++;
      if (ttftMs === undefined) ttftMs = performance.now() - f.request.arrivedAt;
    }
    let drop = false;
    if (event.data.includes('"usage"')) {
      try {
        const parsed = JSON.parse(event.data);
        usage = usageOf(parsed) ?? usage;
        drop = injected && isUsageOnlyChunk(parsed);
      } catch {
        // Not JSON: pass it on untouched.
      }
    }
    if (injected && !drop) pendingWrites.push(event.raw + '\n\n');
  });

  const write = async (data: string | Buffer) => {
    if (raw.destroyed) return;
    if (!raw.write(data)) await new Promise<void>((r) => raw.once('drain', r).once('close', r));
  };

  let errorCode: string | undefined;
  try {
    for await (const buf of chunksOf(first)) {
      splitter.push(buf);
      if (!injected) {
        // Nothing to remove: pass bytes through as they came.
        await write(buf);
      } else if (pendingWrites.length > 0) {
        const out = pendingWrites.join('');
        pendingWrites = [];
        await write(out);
      }
      if (raw.destroyed) break;
    }
    splitter.end();
    if (pendingWrites.length > 0) await write(pendingWrites.join(''));
  } catch (err) {
    if (!raw.destroyed) {
      errorCode = 'upstream_error';
      f.engine.breaker.onFailure(f.deps.clock.now());
      const body = new UpstreamError(`Engine ${f.engine.id} failed mid-stream: ${(err as Error).message}`).toBody();
      await write(`data: ${JSON.stringify(body)}\n\n`);
    } else {
      errorCode = 'client_closed';
    }
  }
  const upstreamDoneAt = performance.now();
  raw.off('close', f.onClientClose);
  if (raw.destroyed && !errorCode) errorCode = 'client_closed';
  if (!raw.destroyed) raw.end();
  // Without the engine's usage, charge what was streamed: one token per content chunk (a chat stream
  // opens with a role-only chunk). A client that cuts streams short still pays for what it received.
  usage ??=
    dataEvents > 0
      ? { promptTokens: f.routingRequest.promptTokens, completionTokens: Math.max(0, dataEvents - (f.kind === 'chat' ? 1 : 0)) }
      : undefined;
  complete(f, 200, usage, ttftMs, upstreamDoneAt, errorCode);
}
