import { Agent, type Dispatcher, errors as undiciErrors, request } from 'undici';
import { DownloadFailedError, ForbiddenAddressError } from './errors';
import { type SourcePolicy } from './policy/policy';

export interface GuardedHttpOptions {
  policy: SourcePolicy;
  /** Most redirects followed per request (default 5). */
  maxRedirects?: number;
  /** Longest silence while waiting for response headers, ms (default 30 s). */
  headersTimeoutMs?: number;
  /** Longest silence between two body chunks, ms (default 60 s). */
  bodyTimeoutMs?: number;
}

export interface GuardedRequest {
  method?: 'GET' | 'HEAD';
  headers?: Record<string, string>;
  /**
   * Headers sent only while the request stays on the first URL's host (credentials): a redirect to
   * another host (a CDN) drops them.
   */
  sameHostHeaders?: Record<string, string>;
  signal?: AbortSignal;
}

export interface GuardedResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Dispatcher.ResponseData['body'];
  /** The URL that answered, after redirects. */
  readonly url: URL;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

function flatHeaders(h: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

/** Finds a ForbiddenAddressError thrown by the connect-time lookup inside undici's wrapping. */
function forbiddenCause(err: unknown): ForbiddenAddressError | undefined {
  for (let e = err, i = 0; e && i < 5; e = (e as { cause?: unknown }).cause, i++)
    if (e instanceof ForbiddenAddressError) return e;
  return undefined;
}

/**
 * HTTP GETs for artifact sources, through an undici agent whose DNS lookup is the policy's: every
 * connection (redirect targets included) is checked against the allow-list and the forbidden
 * addresses before a byte is sent. Redirects are followed by hand so each hop is checked, and
 * credentials never follow a redirect to another host.
 */
export class GuardedHttp {
  private readonly agent: Agent;
  private readonly maxRedirects: number;

  constructor(private readonly options: GuardedHttpOptions) {
    this.agent = new Agent({
      connect: { lookup: options.policy.lookup },
      headersTimeout: options.headersTimeoutMs ?? 30_000,
      bodyTimeout: options.bodyTimeoutMs ?? 60_000,
    });
    this.maxRedirects = options.maxRedirects ?? 5;
  }

  async request(url: URL, req: GuardedRequest = {}): Promise<GuardedResponse> {
    let current = url;
    const firstHost = url.host;
    for (let hop = 0; ; hop++) {
      await this.options.policy.checkUrl(current);
      const headers = { ...req.headers, ...(current.host === firstHost ? req.sameHostHeaders : {}) };
      let res: Dispatcher.ResponseData;
      try {
        res = await request(current, {
          method: req.method ?? 'GET',
          headers,
          dispatcher: this.agent,
          signal: req.signal,
        });
      } catch (err) {
        const forbidden = forbiddenCause(err);
        if (forbidden) throw forbidden;
        if (err instanceof undiciErrors.RequestAbortedError || req.signal?.aborted) throw err;
        throw new DownloadFailedError(`request to ${current.host} failed: ${(err as Error).message}`, true, { cause: err });
      }
      if (REDIRECTS.has(res.statusCode)) {
        const location = res.headers['location'];
        res.body.resume();
        if (typeof location !== 'string')
          throw new DownloadFailedError(`redirect from ${current.host} without a Location`, false);
        if (hop >= this.maxRedirects)
          throw new DownloadFailedError(`more than ${this.maxRedirects} redirects from ${url.host}`, false);
        current = new URL(location, current);
        continue;
      }
      return { status: res.statusCode, headers: flatHeaders(res.headers), body: res.body, url: current };
    }
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

/** Whether an HTTP status is worth retrying (throttling, timeouts, server errors). */
export const retryableStatus = (status: number) => status === 408 || status === 429 || status >= 500;
