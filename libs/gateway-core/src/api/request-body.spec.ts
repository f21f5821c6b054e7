import { isUtf8 } from 'node:buffer';
import { Rng } from '@brix/clock';
import { createPrefixHasher } from '../prefix/prefix-hasher';
import { BodySyntaxError, parseRequestBody, type RequestBody, withMember, writeSpanText } from './request-body';
import { chatPieces, promptPieces } from './schemas';

// Random bodies shaped like inference requests (and not), serialised in several styles, are read both by
// parseRequestBody and by JSON.parse: they must accept the same bodies, give the same values once the
// spans are read back, and hash the same prompt text. A tiny long-text threshold puts most strings in spans.
const LONG = 4;

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const ALPHABET = ['a', 'b', ' ', 'é', '中', '😀', '"', '\\', '/', '\n', '\t', '\u0001', '\u001f', '\u2028', 'x', 'y', '0'];

function randomString(rng: Rng, maxLength = 12): string {
  let s = '';
  const n = rng.int(0, maxLength);
  for (let i = 0; i < n; i++) s += ALPHABET[rng.int(0, ALPHABET.length - 1)];
  return s;
}

function randomValue(rng: Rng, depth: number): Json {
  const kind = rng.int(0, depth > 3 ? 4 : 6);
  switch (kind) {
    case 0:
      return null;
    case 1:
      return rng.next() < 0.5;
    case 2:
      return [0, -1, 1.5, -0.25e-3, 12345678901234, 1e21][rng.int(0, 5)]!;
    case 3:
    case 4:
      return randomString(rng);
    case 5:
      return Array.from({ length: rng.int(0, 3) }, () => randomValue(rng, depth + 1));
    default: {
      const o: Record<string, Json> = {};
      for (let i = rng.int(0, 3); i > 0; i--) o[rng.next() < 0.5 ? randomString(rng, 3) : 'text'] = randomValue(rng, depth + 1);
      return o;
    }
  }
}

/** A request-like body: prompt text in every place the parser knows, plus other members. */
function randomBody(rng: Rng): Record<string, Json> {
  const body: Record<string, Json> = { model: 'm' };
  const shape = rng.int(0, 4);
  const text = () => randomString(rng, 20);
  if (shape === 0) body['prompt'] = text();
  if (shape === 1) body['prompt'] = Array.from({ length: rng.int(1, 3) }, text);
  if (shape === 2) body['input'] = rng.next() < 0.5 ? text() : [[1, 2], [3]];
  if (shape >= 3) {
    body['messages'] = Array.from({ length: rng.int(1, 3) }, () => {
      const message: Record<string, Json> = {
        role: rng.next() < 0.8 ? 'user' : randomString(rng, 6),
        content:
          rng.next() < 0.6
            ? text()
            : Array.from(
                { length: rng.int(1, 3) },
                (): Json => (rng.next() < 0.8 ? { type: 'text', text: text() } : { type: 'image_url' }),
              ),
      };
      if (rng.next() < 0.3) message['name'] = text();
      return message;
    });
  }
  for (let i = rng.int(0, 2); i > 0; i--) body[randomString(rng, 4)] = randomValue(rng, 1);
  return body;
}

/** JSON text in one of several styles clients use: compact, indented, every non-ASCII character \u-escaped, '/' escaped. */
function serialise(value: Json, style: number): string {
  if (style === 0) return JSON.stringify(value);
  if (style === 1) return JSON.stringify(value, null, '\t');
  if (style === 2)
    return JSON.stringify(value).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return JSON.stringify(value).replace(/\//g, '\\/');
}

/** A duplicate of the body's first prompt member, placed before it (JSON.parse keeps the last one). */
function withDuplicate(text: string): string {
  const m = /^\{"model":"m",("(?:prompt|input|messages)"):/.exec(text);
  return m ? text.replace('{"model":"m",', `{"model":"m",${m[1]}:"an earlier value, long enough to be a span",`) : text;
}

/** Applies one random byte edit: what a broken client or a cut connection would send. */
function mutate(rng: Rng, bytes: Buffer): Buffer {
  const at = rng.int(0, Math.max(0, bytes.length - 1));
  const edit = rng.int(0, 3);
  const insert = Buffer.from([[0x22, 0x5c, 0x2c, 0x7d, 0x5d, 0x3a, 0x01, 0x75, 0x20, 0x30][rng.int(0, 9)]!]);
  if (edit === 0) return Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + 1)]);
  if (edit === 1) return Buffer.concat([bytes.subarray(0, at), insert, bytes.subarray(at)]);
  if (edit === 2) return bytes.subarray(0, at);
  return Buffer.concat([bytes.subarray(0, at), insert, bytes.subarray(at + 1)]);
}

/** The parsed value with every span's text put back, to compare with JSON.parse. */
function restored(body: RequestBody): unknown {
  const copy = structuredClone(body.value) as Record<string, unknown>;
  for (const [path, span] of body.spans) {
    const out = Buffer.alloc(span.end - span.start);
    const text = out.toString('utf8', 0, writeSpanText(body.raw, span, out, 0));
    const keys = path.split('.');
    let at = copy as Record<string, unknown>;
    for (const k of keys.slice(0, -1)) at = at[k] as Record<string, unknown>;
    expect(at[keys[keys.length - 1]!]).toBe('');
    at[keys[keys.length - 1]!] = text;
  }
  return copy;
}

/**
 * The value with lone surrogates as U+FFFD: a span's text is read as UTF-8 bytes, which cannot hold a lone
 * surrogate, so that is how JSON.parse's strings compare with it.
 */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const toWellFormed = (s: string) => s.replace(LONE_SURROGATE, '\ufffd');

function wellFormed(value: unknown): unknown {
  if (typeof value === 'string') return toWellFormed(value);
  if (Array.isArray(value)) return value.map(wellFormed);
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [toWellFormed(k), wellFormed(v)]));
  return value;
}

/** What the prefix hash reads, spelled out on the JSON.parse value: the reference for the pieces. */
function referenceText(value: Record<string, unknown>): string | undefined {
  const messages = value['messages'];
  if (Array.isArray(messages)) {
    let out = '';
    for (const m of messages as Array<{ role: string; content: unknown }>) {
      out += `${m.role}\n`;
      if (typeof m.content === 'string') out += m.content;
      else if (Array.isArray(m.content))
        for (const p of m.content as Array<{ type: string; text?: string }>) if (p.type === 'text' && p.text) out += p.text;
      out += '\n';
    }
    return out;
  }
  const prompt = value['prompt'] ?? value['input'];
  if (typeof prompt === 'string') return prompt;
  if (Array.isArray(prompt)) return prompt.map((p) => (Array.isArray(p) ? p.join(' ') : String(p))).join('\n');
  return undefined;
}

function jsonParse(bytes: Buffer): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(bytes.toString('utf8')) };
  } catch {
    return { ok: false };
  }
}

function ours(bytes: Buffer, long = LONG): { ok: true; body: RequestBody } | { ok: false; error: Error } {
  try {
    return { ok: true, body: parseRequestBody(bytes, long) };
  } catch (error) {
    return { ok: false, error: error as Error };
  }
}

describe('parseRequestBody against JSON.parse', () => {
  it('accepts the same bodies and gives the same values, the long prompt strings read back from the raw bytes', () => {
    const rng = new Rng(7);
    let spans = 0;
    for (let i = 0; i < 3000; i++) {
      let text = serialise(randomBody(rng), i % 4);
      if (i % 7 === 0) text = withDuplicate(text);
      const bytes = Buffer.from(text);
      const result = ours(bytes);
      if (!result.ok) throw new Error(`refused a valid body: ${text}\n${result.error.message}`);
      spans += result.body.spans.size;
      expect(wellFormed(restored(result.body))).toEqual(wellFormed(JSON.parse(text)));
    }
    expect(spans).toBeGreaterThan(3000); // most prompts were read as spans
  });

  it('refuses exactly what JSON.parse refuses, each with a BodySyntaxError', () => {
    const rng = new Rng(11);
    let refused = 0;
    for (let i = 0; i < 6000; i++) {
      const bytes = mutate(rng, Buffer.from(serialise(randomBody(rng), i % 4)));
      // JSON.parse reads text: a cut multi-byte character becomes U+FFFD there, but is refused here.
      const expected = isUtf8(bytes) ? jsonParse(bytes) : { ok: false };
      const result = ours(bytes);
      if (expected.ok !== result.ok) throw new Error(`JSON.parse ${expected.ok ? 'accepts' : 'refuses'}: ${bytes.toString()}`);
      if (!result.ok) {
        expect(result.error).toBeInstanceOf(BodySyntaxError);
        refused++;
      } else {
        expect(wellFormed(restored(result.body))).toEqual(wellFormed((expected as { value: unknown }).value));
      }
    }
    expect(refused).toBeGreaterThan(3000);
  });

  it('hashes the same prompt text as the parsed strings give, whatever the escapes', async () => {
    const hasher = createPrefixHasher(8);
    const rng = new Rng(13);
    for (let i = 0; i < 2000; i++) {
      const text = serialise(randomBody(rng), i % 4);
      const bytes = Buffer.from(text);
      const body = parseRequestBody(bytes, LONG);
      const value = body.value as Record<string, never>;
      const pieces = value['messages']
        ? chatPieces(value['messages'], body.spans)
        : promptPieces(value['prompt'] ?? value['input'], body.spans, value['prompt'] !== undefined ? 'prompt' : 'input');
      const reference = referenceText(JSON.parse(text) as Record<string, unknown>)!;
      const digest = hasher.hash(pieces, bytes);
      expect(digest.bytes).toBe(Buffer.byteLength(reference));
      expect(digest.hashes).toEqual(hasher.hash([reference]).hashes);
    }
  });

  it('decodes \\u escapes as JSON.parse does: surrogate pairs joined, lone surrogates as U+FFFD', () => {
    const cases = ['\\ud83d\\ude00', '\\ud83d', '\\ude00', '\\ud83d\\ud83d\\ude00', '\\u00e9\\u4e2D', 'a\\ud83dz', '\\ud83d\\n'];
    for (const escaped of cases) {
      const bytes = Buffer.from(`{"prompt":"${escaped}"}`);
      const body = parseRequestBody(bytes, 1);
      const span = body.spans.get('prompt')!;
      const out = Buffer.alloc(64);
      const end = writeSpanText(bytes, span, out, 0);
      expect(out.subarray(0, end)).toEqual(Buffer.from((JSON.parse(bytes.toString()) as { prompt: string }).prompt));
    }
  });
});

describe('parseRequestBody', () => {
  it('leaves long prompt strings in the body and parses everything else', () => {
    const long = 'x'.repeat(100);
    const raw = Buffer.from(
      JSON.stringify({
        model: 'm',
        messages: [
          { role: 'system', content: 'short' },
          { role: 'user', content: [{ type: 'text', text: long }], name: long },
        ],
        guided_json: long,
      }),
    );
    const body = parseRequestBody(raw, 50);
    expect([...body.spans.keys()]).toEqual(['messages.1.content.0.text']); // `name` and `guided_json` are not prompt text
    expect(body.value).toMatchObject({
      messages: [{ content: 'short' }, { content: [{ text: '' }], name: long }],
      guided_json: long,
    });
  });

  it.each([
    ['not UTF-8', Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]), 'not valid UTF-8'],
    ['a raw control character in a string', Buffer.from('{"prompt":"a\u0001b"}'), 'byte 12: a control character'],
    ['an unknown escape', Buffer.from('{"prompt":"a\\qb"}'), 'byte 13: invalid escape'],
    ['a short \\u escape', Buffer.from('{"prompt":"\\u12g4"}'), 'byte 15: expected four hex digits'],
    ['an unterminated string', Buffer.from('{"prompt":"abc'), 'byte 14: the body ends inside a string'],
    ['content after the value', Buffer.from('{"model":"m"} x'), 'byte 14: unexpected content after'],
    ['a trailing comma', Buffer.from('{"model":"m",}'), 'byte 13: expected a member name'],
    ['a leading zero', Buffer.from('{"n":01}'), "byte 6: expected ',' or '}'"],
    ['deep nesting', Buffer.from('['.repeat(600) + ']'.repeat(600)), 'nested deeper than 512'],
  ])('refuses %s, naming where', (_case, raw, message) => {
    expect(() => parseRequestBody(raw)).toThrow(BodySyntaxError);
    expect(() => parseRequestBody(raw)).toThrow(message);
  });

  it('keeps a 220 KB prompt out of strings: the value holds a short text where the prompt was', () => {
    const prompt = 'word '.repeat(45_000);
    const body = parseRequestBody(Buffer.from(JSON.stringify({ model: 'm', prompt, max_tokens: 1 })));
    expect(body.value).toEqual({ model: 'm', prompt: '', max_tokens: 1 });
    expect(body.spans.get('prompt')).toEqual({ start: 23, end: 23 + prompt.length, escaped: false });
  });
});

describe('withMember', () => {
  const parse = (text: string) => parseRequestBody(Buffer.from(text));
  it.each([
    [
      'adds a missing member at the end',
      '{"model":"m","stream":true}',
      { model: 'm', stream: true, stream_options: { include_usage: true } },
    ],
    [
      'replaces an existing value in place',
      '{"model":"m","stream_options":{"include_usage":false},"n":1}',
      { model: 'm', stream_options: { include_usage: true }, n: 1 },
    ],
    ['replaces null', '{"stream_options":null,"model":"m"}', { stream_options: { include_usage: true }, model: 'm' }],
    [
      'keeps spacing and the rest byte for byte',
      '{ "model" : "m" ,\n "prompt": "é\\n" }\n',
      { model: 'm', prompt: 'é\n', stream_options: { include_usage: true } },
    ],
  ])('%s', (_case, text, expected) => {
    const out = withMember(parse(text), 'stream_options', '{"include_usage":true}');
    expect(JSON.parse(out.toString())).toEqual(expected);
    expect(out.toString()).toContain(text.slice(0, 10)); // the client's own bytes lead
  });
});
