import { type Agent, request as httpRequest } from 'node:http';
import { performance } from 'node:perf_hooks';
import { SseSplitter, type Usage, usageOf } from '@brix/gateway-core';

/** A streamed OpenAI-style completion as the client saw it; times are `performance.now()` values. */
export type TimedStream =
  | {
      readonly ok: true;
      readonly sentMs: number;
      /** Arrival of the first and the last chunk that carried a choice (a token). */
      readonly firstMs: number;
      readonly lastMs: number;
      /** Chunks that carried a choice. */
      readonly chunks: number;
      /** From the usage chunk (`stream_options.include_usage`), when the server sent one. */
      readonly usage: Usage | undefined;
      /** The end of the response. */
      readonly endedMs: number;
    }
  | { readonly ok: false; readonly sentMs: number; readonly endedMs: number; readonly reason: string };

/**
 * POSTs `body` (a JSON request with `stream: true`) to `url` and times its server-sent events as they arrive,
 * split and decoded by the gateway's own `SseSplitter`. Never rejects: a refused request, a non-200 answer, a
 * broken connection or a stream without tokens resolves with `ok: false` and the reason.
 */
export function timedStream(agent: Agent, url: string, body: string, headers: Record<string, string> = {}): Promise<TimedStream> {
  return new Promise((resolve) => {
    const sentMs = performance.now();
    let firstMs = -1;
    let lastMs = -1;
    let chunks = 0;
    let usage: Usage | undefined;
    let settled = false;
    const fail = (reason: string) => {
      if (settled) return;
      settled = true;
      resolve({ ok: false, sentMs, endedMs: performance.now(), reason });
    };
    const splitter = new SseSplitter((event) => {
      if (event.data === undefined || event.data === '[DONE]') return;
      const now = performance.now();
      const data = JSON.parse(event.data) as { choices?: unknown[] };
      if (data.choices && data.choices.length > 0) {
        if (firstMs < 0) firstMs = now;
        lastMs = now;
        chunks++;
      }
      usage = usageOf(data) ?? usage;
    });
    const req = httpRequest(
      url,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers },
      },
      (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          res.on('end', () => fail(`${url} answered ${res.statusCode}`));
          return;
        }
        res.on('data', (chunk: Buffer) => {
          try {
            splitter.push(chunk);
          } catch (err) {
            fail(`${url}: ${(err as Error).message}`);
            res.destroy();
          }
        });
        res.on('end', () => {
          if (settled) return;
          splitter.end();
          if (firstMs < 0) return fail(`${url}: stream ended without tokens`);
          settled = true;
          resolve({ ok: true, sentMs, firstMs, lastMs, chunks, usage, endedMs: performance.now() });
        });
        res.on('error', (err) => fail(`${url}: ${err.message}`));
      },
    );
    req.on('error', (err) => fail(`${url}: ${err.message}`));
    req.end(body);
  });
}
