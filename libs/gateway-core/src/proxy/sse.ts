import { StringDecoder } from 'node:string_decoder';

/** One server-sent event as received: its raw text (without the blank-line terminator) and its data. */
export interface SseEvent {
  readonly raw: string;
  /** The concatenated `data:` lines, or undefined for an event without data (a comment, say). */
  readonly data: string | undefined;
}

/**
 * Splits a byte stream of server-sent events into events as they complete. Handles events split
 * across chunks, multi-byte characters split across chunks, and `\n\n` or `\r\n\r\n` terminators.
 */
export class SseSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private pending = '';

  constructor(private readonly onEvent: (event: SseEvent) => void) {}

  push(chunk: Buffer): void {
    this.pending += this.decoder.write(chunk);
    for (;;) {
      const lf = this.pending.indexOf('\n\n');
      const crlf = this.pending.indexOf('\r\n\r\n');
      let end: number;
      let sep: number;
      if (lf >= 0 && (crlf < 0 || lf < crlf)) {
        end = lf;
        sep = 2;
      } else if (crlf >= 0) {
        end = crlf;
        sep = 4;
      } else return;
      const raw = this.pending.slice(0, end);
      this.pending = this.pending.slice(end + sep);
      this.onEvent({ raw, data: dataOf(raw) });
    }
  }

  /** Delivers a final event that ended without a blank line. */
  end(): void {
    this.pending += this.decoder.end();
    if (this.pending.trim().length > 0) {
      const raw = this.pending;
      this.pending = '';
      this.onEvent({ raw, data: dataOf(raw) });
    }
  }
}

function dataOf(raw: string): string | undefined {
  let data: string | undefined;
  for (const line of raw.split(/\r?\n/)) {
    if (!line.startsWith('data:')) continue;
    const value = line.charCodeAt(5) === 32 ? line.slice(6) : line.slice(5);
    data = data === undefined ? value : `${data}\n${value}`;
  }
  return data;
}

/** Token usage as OpenAI and vLLM report it. */
export interface Usage {
  promptTokens: number;
  completionTokens: number;
  cachedTokens?: number;
}

/** Reads `usage` from a parsed response or chunk; undefined when absent or null. */
export function usageOf(body: unknown): Usage | undefined {
  const u = (body as { usage?: Record<string, unknown> | null } | null)?.usage;
  if (!u || typeof u !== 'object') return undefined;
  const prompt = Number(u['prompt_tokens'] ?? 0);
  const completion = Number(u['completion_tokens'] ?? 0);
  const details = u['prompt_tokens_details'] as { cached_tokens?: number } | null | undefined;
  return {
    promptTokens: Number.isFinite(prompt) ? prompt : 0,
    completionTokens: Number.isFinite(completion) ? completion : 0,
    ...(details?.cached_tokens !== undefined ? { cachedTokens: details.cached_tokens } : {}),
  };
}

/**
 * A stream chunk that only carries usage: OpenAI's final `include_usage` chunk has `choices: []`.
 * The gateway strips it when it asked for usage itself and the client did not.
 */
export function isUsageOnlyChunk(body: unknown): boolean {
  const b = body as { choices?: unknown[]; usage?: unknown } | null;
  return !!b && Array.isArray(b.choices) && b.choices.length === 0 && !!b.usage;
}
