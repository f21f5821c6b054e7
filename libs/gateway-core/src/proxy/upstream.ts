import { Agent, type Dispatcher, errors as undiciErrors } from 'undici';

export interface UpstreamOptions {
  /** Keep-alive connections per engine origin. */
  connectionsPerOrigin: number;
  connectTimeoutMs: number;
  /** Longest wait for response headers (the engine's queueing plus prefill). */
  headersTimeoutMs: number;
  /** Longest pause between two body chunks. */
  bodyTimeoutMs: number;
}

export interface UpstreamRequest {
  /** Engine base URL, e.g. http://127.0.0.1:8000 */
  baseUrl: string;
  path: string;
  body: string | Buffer;
  headers: Record<string, string>;
  signal?: AbortSignal;
}

export type UpstreamResponse = Dispatcher.ResponseData;

/** Why an attempt failed before the engine answered; all of these are worth trying another engine for. */
export type FailureReason = 'connect' | 'reset' | 'timeout' | 'status' | 'aborted' | 'other';

export type AttemptOutcome =
  | { ok: true; response: UpstreamResponse }
  | { ok: false; reason: FailureReason; message: string; status?: number };

/** Engine statuses that mean "this engine cannot serve now" rather than "this request is bad". */
const RETRYABLE_STATUS = new Set([502, 503, 504]);

function classify(err: unknown): { reason: FailureReason; message: string } {
  const e = err as { code?: string; name?: string; message?: string };
  const message = e?.message ?? String(err);
  if (e?.name === 'AbortError' || e?.code === 'UND_ERR_ABORTED') return { reason: 'aborted', message };
  if (err instanceof undiciErrors.ConnectTimeoutError || err instanceof undiciErrors.HeadersTimeoutError)
    return { reason: 'timeout', message };
  if (err instanceof undiciErrors.SocketError) return { reason: 'reset', message };
  const code = e?.code ?? (e as { cause?: { code?: string } })?.cause?.code;
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH')
    return { reason: 'connect', message };
  if (code === 'ECONNRESET' || code === 'EPIPE' || code === 'UND_ERR_SOCKET' || code === 'UND_ERR_CLOSED')
    return { reason: 'reset', message };
  return { reason: 'other', message };
}

/**
 * The gateway's HTTP client to engines: one undici Agent with a keep-alive pool per engine origin.
 * `send` resolves once the engine's response headers arrive; a failure before that point is returned
 * as a classified outcome (never thrown), so the caller can try another engine.
 */
export class Upstream {
  private readonly agent: Agent;

  constructor(options: UpstreamOptions) {
    this.agent = new Agent({
      connections: options.connectionsPerOrigin,
      pipelining: 1,
      keepAliveTimeout: 60_000,
      keepAliveMaxTimeout: 600_000,
      headersTimeout: options.headersTimeoutMs,
      bodyTimeout: options.bodyTimeoutMs,
      connect: { timeout: options.connectTimeoutMs },
    });
  }

  async send(req: UpstreamRequest): Promise<AttemptOutcome> {
    let response: UpstreamResponse;
    try {
      response = await this.agent.request({
        origin: req.baseUrl,
        path: req.path,
        method: 'POST',
        headers: req.headers,
        body: req.body,
        signal: req.signal,
      });
    } catch (err) {
      return { ok: false, ...classify(err) };
    }
    if (RETRYABLE_STATUS.has(response.statusCode)) {
      const text = await response.body.text().catch(() => '');
      return {
        ok: false,
        reason: 'status',
        status: response.statusCode,
        message: `engine answered ${response.statusCode}: ${text.slice(0, 200)}`,
      };
    }
    return { ok: true, response };
  }

  /** Plain GET for polling engines (/metrics, /v1/models); throws on network errors. */
  async get(baseUrl: string, path: string, timeoutMs: number): Promise<{ status: number; text: string }> {
    const res = await this.agent.request({
      origin: baseUrl,
      path,
      method: 'GET',
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    return { status: res.statusCode, text: await res.body.text() };
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}
