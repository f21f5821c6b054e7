import { isUtf8 } from 'node:buffer';

/**
 * Parsing an inference request body without making one string of it.
 *
 * `JSON.parse(buf.toString())` makes two strings the size of a long prompt: the body's text and the prompt
 * itself. Strings over 128 KB live in V8's large-object space, where each allocation maps fresh memory, and
 * on a virtual machine that costs far more per byte than the parsing (docs/benchmarks/gateway.md, part C).
 * The gateway never needs the prompt as a string: it forwards the client's bytes unchanged and reads the
 * prompt only to hash its prefix and estimate its tokens. So the prompt strings of at least `longText` bytes
 * stay in the raw body as {@link TextSpan}s, the rest of the body is parsed by `JSON.parse` as usual, and the
 * scanner below checks that what it skipped is valid JSON: it accepts exactly the bodies `JSON.parse` accepts
 * (when they are valid UTF-8), and the parsed value equals `JSON.parse`'s with each long prompt string as ''.
 */

/** A JSON string's content in the raw body: the bytes between its quotes, still JSON-escaped if `escaped`. */
export interface TextSpan {
  readonly start: number;
  readonly end: number;
  readonly escaped: boolean;
}

/** Byte range of one top-level member's value in the raw body, from its first byte to just after its last. */
export interface ValueRange {
  readonly start: number;
  readonly end: number;
}

export interface RequestBody {
  /** The body as `JSON.parse` gives it, except that each long prompt string is '' (its text is in `spans`). */
  readonly value: unknown;
  /** The bytes as received: forwarded to engines unchanged, and the text of every span. */
  readonly raw: Buffer;
  /**
   * Long prompt strings by their place in the body: `prompt`, `prompt.2`, `input`, `input.0`,
   * `messages.3.content`, `messages.3.content.1.text`. Where a member appears twice, the last one counts,
   * as in `JSON.parse`.
   */
  readonly spans: ReadonlyMap<string, TextSpan>;
  /** Where each top-level member's value lies in `raw` (the last one where a name repeats). */
  readonly members: ReadonlyMap<string, ValueRange>;
}

/** The body is not JSON (or not UTF-8); the message names the byte where reading stopped. */
export class BodySyntaxError extends Error {
  override readonly name = 'BodySyntaxError';
}

/** Prompt strings shorter than this are parsed as strings: below V8's large-object size they cost little. */
export const LONG_TEXT_BYTES = 32 * 1024;

/** Containers nested deeper than this are refused (no inference request comes near it). */
const MAX_DEPTH = 512;

// What the scanner knows about the value it is at: whether it is where prompt text lives, and which.
const enum Place {
  Other,
  Root,
  /** `prompt` / `input`: a string, or a list of strings (or token ids). */
  Prompt,
  Messages,
  Message,
  /** `messages[i].content`: a string, or a list of parts. */
  Content,
  Part,
  /** `…content[j].text`, and `prompt[k]` / `input[k]`: a string here is prompt text. */
  Text,
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** Reads `raw` as an inference request body (see the file comment); throws {@link BodySyntaxError}. */
export function parseRequestBody(raw: Buffer, longText = LONG_TEXT_BYTES): RequestBody {
  if (!isUtf8(raw)) throw new BodySyntaxError('The request body is not valid UTF-8.');
  const scanner = new Scanner(raw, longText);
  scanner.document();
  const { spans, elided } = scanner;
  let text: string;
  if (elided.length === 0) {
    text = raw.toString('utf8');
  } else {
    // The body without the long strings' contents: each becomes "".
    const parts: Buffer[] = [];
    let from = 0;
    for (const span of elided) {
      parts.push(raw.subarray(from, span.start));
      from = span.end;
    }
    parts.push(raw.subarray(from));
    text = Buffer.concat(parts).toString('utf8');
  }
  return { value: JSON.parse(text), raw, spans, members: scanner.members };
}

/**
 * A validating JSON scanner over bytes. It builds no values: it walks the grammar, notes where the
 * top-level members and the long prompt strings are, and throws on the first byte that is not JSON.
 */
class Scanner {
  pos = 0;
  /** Long prompt strings in body order (all of them, also those a repeated member later replaces). */
  readonly elided: TextSpan[] = [];
  readonly spans = new Map<string, TextSpan>();
  readonly members = new Map<string, ValueRange>();
  private readonly words: Int32Array;
  /** Index in the body of `words[0]`. */
  private readonly wordBase: number;

  constructor(
    private readonly buf: Buffer,
    private readonly longText: number,
  ) {
    // A view of the body's aligned middle as 32-bit words, to skip four plain bytes at a time inside strings.
    this.wordBase = (4 - (buf.byteOffset & 3)) & 3;
    const words = buf.length > this.wordBase ? (buf.length - this.wordBase) >>> 2 : 0;
    this.words = new Int32Array(buf.buffer, buf.byteOffset + this.wordBase, words);
  }

  document(): void {
    this.space();
    this.value(Place.Root, '', 0);
    this.space();
    if (this.pos < this.buf.length) this.fail('unexpected content after the JSON value');
  }

  private fail(what: string): never {
    throw new BodySyntaxError(`Invalid JSON at byte ${this.pos}: ${what}.`);
  }

  private space(): void {
    const { buf } = this;
    let c = buf[this.pos];
    while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = buf[++this.pos];
  }

  /** One value at `pos`; `path` names its place when `place` is where prompt text may be. */
  private value(place: Place, path: string, depth: number): void {
    const c = this.buf[this.pos];
    if (c === QUOTE) return this.string(place, path);
    if (c === 0x7b) return this.object(place, path, depth + 1);
    if (c === 0x5b) return this.array(place, path, depth + 1);
    if (c === 0x74) return this.literal('true');
    if (c === 0x66) return this.literal('false');
    if (c === 0x6e) return this.literal('null');
    if (c === 0x2d || (c !== undefined && c >= 0x30 && c <= 0x39)) return this.number();
    this.fail(c === undefined ? 'the body ends where a value should be' : 'expected a value');
  }

  private object(place: Place, path: string, depth: number): void {
    if (depth > MAX_DEPTH) this.fail(`nested deeper than ${MAX_DEPTH}`);
    this.pos++;
    this.space();
    if (this.buf[this.pos] === 0x7d) {
      this.pos++;
      return;
    }
    for (;;) {
      if (this.buf[this.pos] !== QUOTE) this.fail('expected a member name in double quotes');
      const key = this.key(place);
      this.space();
      if (this.buf[this.pos] !== 0x3a) this.fail("expected ':' after a member name");
      this.pos++;
      this.space();
      const inner = key === undefined ? Place.Other : memberPlace(place, key);
      const innerPath = inner === Place.Other ? '' : path === '' ? key! : `${path}.${key!}`;
      // A repeated member replaces the earlier one's value, long strings included.
      if (inner !== Place.Other && this.spans.size > 0) this.forget(innerPath);
      const start = this.pos;
      this.value(inner, innerPath, depth);
      if (place === Place.Root && key !== undefined) this.members.set(key, { start, end: this.pos });
      if (this.closes(0x7d, "expected ',' or '}' in an object")) return;
    }
  }

  private array(place: Place, path: string, depth: number): void {
    if (depth > MAX_DEPTH) this.fail(`nested deeper than ${MAX_DEPTH}`);
    this.pos++;
    this.space();
    if (this.buf[this.pos] === 0x5d) {
      this.pos++;
      return;
    }
    const inner = elementPlace(place);
    for (let index = 0; ; index++) {
      this.value(inner, inner === Place.Other ? '' : `${path}.${index}`, depth);
      if (this.closes(0x5d, "expected ',' or ']' in an array")) return;
    }
  }

  /** After a member or element: moves past `close` (true: the container ends) or a comma (false), else fails. */
  private closes(close: number, what: string): boolean {
    this.space();
    const c = this.buf[this.pos];
    if (c === close) {
      this.pos++;
      return true;
    }
    if (c !== 0x2c) this.fail(what);
    this.pos++;
    this.space();
    return false;
  }

  /** A member name; decoded only inside objects whose member names matter (else undefined). */
  private key(place: Place): string | undefined {
    const start = this.pos + 1;
    const escaped = this.skipString();
    if (place !== Place.Root && place !== Place.Message && place !== Place.Part) return undefined;
    const end = this.pos - 1;
    return escaped
      ? (JSON.parse(this.buf.toString('utf8', start - 1, this.pos)) as string)
      : this.buf.toString('utf8', start, end);
  }

  private string(place: Place, path: string): void {
    const start = this.pos + 1;
    const escaped = this.skipString();
    const end = this.pos - 1;
    if (end - start < this.longText) return;
    if (place === Place.Prompt || place === Place.Content || place === Place.Text) {
      const span = { start, end, escaped };
      this.elided.push(span);
      this.spans.set(path, span);
    }
  }

  /**
   * Moves past the string at `pos` (its opening quote), checking its escapes and that it holds no raw control
   * character; returns whether it has escapes.
   */
  private skipString(): boolean {
    const { buf, words, wordBase } = this;
    const n = buf.length;
    const wordEnd = wordBase + words.length * 4;
    let i = this.pos + 1;
    let escaped = false;
    for (;;) {
      if (i >= wordBase && i < wordEnd && ((i - wordBase) & 3) === 0) {
        // Skip words with no quote, no backslash and no byte below 0x20 (exact tests for "some byte equals /
        // is below", per 8-bit lane; the arithmetic wraps to 32 bits through the bitwise operators).
        let w = (i - wordBase) >>> 2;
        for (const m = words.length; w < m; w++) {
          const x = words[w]!;
          const q = x ^ 0x22222222;
          const b = x ^ 0x5c5c5c5c;
          if ((((q - 0x01010101) & ~q) | ((b - 0x01010101) & ~b) | ((x - 0x20202020) & ~x)) & 0x80808080) break;
        }
        i = wordBase + w * 4;
      }
      if (i >= n) {
        this.pos = n;
        this.fail('the body ends inside a string');
      }
      const c = buf[i]!;
      if (c === QUOTE) {
        this.pos = i + 1;
        return escaped;
      }
      if (c === BACKSLASH) {
        escaped = true;
        i = this.escape(i);
      } else if (c < 0x20) {
        this.pos = i;
        this.fail('a control character inside a string must be escaped');
      } else {
        i++;
      }
    }
  }

  /** Checks the escape at `i` (its backslash); returns the index after it. */
  private escape(i: number): number {
    const c = this.buf[i + 1];
    if (c === 0x75) {
      for (let k = i + 2; k < i + 6; k++) {
        const h = this.buf[k];
        const hex = h !== undefined && ((h >= 0x30 && h <= 0x39) || ((h | 0x20) >= 0x61 && (h | 0x20) <= 0x66));
        if (!hex) {
          this.pos = k;
          this.fail('expected four hex digits after \\u');
        }
      }
      return i + 6;
    }
    // " \ / b f n r t
    if (c === QUOTE || c === BACKSLASH || c === 0x2f || c === 0x62 || c === 0x66 || c === 0x6e || c === 0x72 || c === 0x74)
      return i + 2;
    this.pos = i + 1;
    this.fail('invalid escape in a string');
  }

  private literal(word: 'true' | 'false' | 'null'): void {
    for (let k = 0; k < word.length; k++) {
      if (this.buf[this.pos + k] !== word.charCodeAt(k)) {
        this.pos += k;
        this.fail(`expected '${word}'`);
      }
    }
    this.pos += word.length;
  }

  /** -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
  private number(): void {
    const { buf } = this;
    const digits = (): number => {
      const from = this.pos;
      for (let c = buf[this.pos]; c !== undefined && c >= 0x30 && c <= 0x39; c = buf[++this.pos]);
      return this.pos - from;
    };
    if (buf[this.pos] === 0x2d) this.pos++;
    if (buf[this.pos] === 0x30) this.pos++;
    else if (digits() === 0) this.fail('expected a digit');
    if (buf[this.pos] === 0x2e) {
      this.pos++;
      if (digits() === 0) this.fail('expected a digit after the decimal point');
    }
    const e = buf[this.pos];
    if (e === 0x65 || e === 0x45) {
      this.pos++;
      const sign = buf[this.pos];
      if (sign === 0x2b || sign === 0x2d) this.pos++;
      if (digits() === 0) this.fail('expected a digit in the exponent');
    }
  }

  /** Drops the spans at `path` and under it (a repeated member is about to replace them). */
  private forget(path: string): void {
    for (const key of [...this.spans.keys()]) {
      if (key === path || key.startsWith(`${path}.`)) this.spans.delete(key);
    }
  }
}

function memberPlace(place: Place, key: string): Place {
  if (place === Place.Root) {
    if (key === 'prompt' || key === 'input') return Place.Prompt;
    if (key === 'messages') return Place.Messages;
  } else if (place === Place.Message) {
    if (key === 'content') return Place.Content;
  } else if (place === Place.Part) {
    if (key === 'text') return Place.Text;
  }
  return Place.Other;
}

/** Where the elements of an array at `place` are. Objects at Message/Part places and strings at Text places matter. */
function elementPlace(place: Place): Place {
  if (place === Place.Prompt) return Place.Text;
  if (place === Place.Messages) return Place.Message;
  if (place === Place.Content) return Place.Part;
  return Place.Other;
}

const ESCAPED: Record<number, number> = {
  [QUOTE]: QUOTE,
  [BACKSLASH]: BACKSLASH,
  0x2f: 0x2f, // '/'
  0x62: 0x08, // b
  0x66: 0x0c, // f
  0x6e: 0x0a, // n
  0x72: 0x0d, // r
  0x74: 0x09, // t
};

/**
 * Writes the text of `span` (a string of a body that passed {@link parseRequestBody}) into `out` at `at` as
 * UTF-8, escapes decoded, and returns the offset after it. The bytes are those `Buffer.write` makes of the
 * string `JSON.parse` would give, lone surrogates included (as U+FFFD). `out` needs `span.end - span.start`
 * bytes of room: decoding only ever shortens.
 */
export function writeSpanText(raw: Buffer, span: TextSpan, out: Buffer, at: number): number {
  if (!span.escaped) return at + raw.copy(out, at, span.start, span.end);
  // Prompts escape often (a newline every line): plain bytes move four at a time until a word holds a
  // backslash, then one at a time up to it.
  const src = new DataView(raw.buffer, raw.byteOffset, raw.length);
  const dst = new DataView(out.buffer, out.byteOffset, out.length);
  const { end } = span;
  let i = span.start;
  for (;;) {
    while (i + 4 <= end) {
      const w = src.getInt32(i, true);
      const x = w ^ 0x5c5c5c5c;
      if (((x - 0x01010101) & ~x & 0x80808080) !== 0) break;
      dst.setInt32(at, w, true);
      i += 4;
      at += 4;
    }
    while (i < end && raw[i] !== BACKSLASH) out[at++] = raw[i++]!;
    if (i >= end) return at;
    const c = raw[i + 1]!;
    if (c !== 0x75) {
      out[at++] = ESCAPED[c]!;
      i += 2;
      continue;
    }
    let cp = hex4(raw, i + 2);
    i += 6;
    if (cp >= 0xd800 && cp <= 0xdbff && i < end && raw[i] === BACKSLASH && raw[i + 1] === 0x75) {
      const low = hex4(raw, i + 2);
      if (low >= 0xdc00 && low <= 0xdfff) {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
        i += 6;
      }
    }
    if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd; // a surrogate without its pair
    at = writeCodePoint(out, at, cp);
  }
}

function hex4(raw: Buffer, at: number): number {
  let v = 0;
  for (let k = at; k < at + 4; k++) {
    const h = raw[k]!;
    v = (v << 4) | (h <= 0x39 ? h - 0x30 : (h | 0x20) - 0x57);
  }
  return v;
}

function writeCodePoint(out: Buffer, at: number, cp: number): number {
  if (cp < 0x80) {
    out[at++] = cp;
  } else if (cp < 0x800) {
    out[at++] = 0xc0 | (cp >> 6);
    out[at++] = 0x80 | (cp & 0x3f);
  } else if (cp < 0x10000) {
    out[at++] = 0xe0 | (cp >> 12);
    out[at++] = 0x80 | ((cp >> 6) & 0x3f);
    out[at++] = 0x80 | (cp & 0x3f);
  } else {
    out[at++] = 0xf0 | (cp >> 18);
    out[at++] = 0x80 | ((cp >> 12) & 0x3f);
    out[at++] = 0x80 | ((cp >> 6) & 0x3f);
    out[at++] = 0x80 | (cp & 0x3f);
  }
  return at;
}

/**
 * The body with its top-level member `name` set to `json` (JSON text), everything else byte for byte as
 * received: the value replaced where the member exists, else the member added at the end.
 */
export function withMember(body: RequestBody, name: string, json: string): Buffer {
  const { raw } = body;
  const existing = body.members.get(name);
  if (existing) return Buffer.concat([raw.subarray(0, existing.start), Buffer.from(json), raw.subarray(existing.end)]);
  // The body is an object with at least one member (the schema requires `model`), so a comma goes first.
  const close = raw.lastIndexOf(0x7d);
  return Buffer.concat([raw.subarray(0, close), Buffer.from(`,${JSON.stringify(name)}:${json}`), raw.subarray(close)]);
}
