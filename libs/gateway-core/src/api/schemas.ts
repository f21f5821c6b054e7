import Type, { type Static } from 'typebox';
import { type TextSpan } from './request-body';

/**
 * Request bodies of the OpenAI-compatible API. They pin what the gateway itself relies on and bounds
 * that protect it; every other field passes through to the engine untouched (additional properties
 * allowed), so clients keep vLLM's extra sampling parameters.
 */
const TokenLimit = Type.Integer({ minimum: 1, maximum: 10_000_000 });

const StreamOptions = Type.Object({
  include_usage: Type.Optional(Type.Boolean()),
  continuous_usage_stats: Type.Optional(Type.Boolean()),
});

const ContentPart = Type.Object({ type: Type.String({ minLength: 1 }), text: Type.Optional(Type.String()) });

export const ChatMessage = Type.Object({
  role: Type.String({ minLength: 1 }),
  content: Type.Optional(Type.Union([Type.String(), Type.Null(), Type.Array(ContentPart)])),
  name: Type.Optional(Type.String()),
});

const Common = {
  model: Type.String({ minLength: 1, maxLength: 512 }),
  stream: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])),
  stream_options: Type.Optional(Type.Union([StreamOptions, Type.Null()])),
  max_tokens: Type.Optional(Type.Union([TokenLimit, Type.Null()])),
  n: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 128 }), Type.Null()])),
  user: Type.Optional(Type.String()),
};

export const ChatCompletionBody = Type.Object({
  ...Common,
  messages: Type.Array(ChatMessage, { minItems: 1 }),
  max_completion_tokens: Type.Optional(Type.Union([TokenLimit, Type.Null()])),
});
export type ChatCompletionBody = Static<typeof ChatCompletionBody>;

export const CompletionBody = Type.Object({
  ...Common,
  prompt: Type.Union([
    Type.String(),
    Type.Array(Type.String(), { minItems: 1 }),
    Type.Array(Type.Integer({ minimum: 0 }), { minItems: 1 }),
    Type.Array(Type.Array(Type.Integer({ minimum: 0 }), { minItems: 1 }), { minItems: 1 }),
  ]),
});
export type CompletionBody = Static<typeof CompletionBody>;

export const EmbeddingBody = Type.Object({
  model: Type.String({ minLength: 1, maxLength: 512 }),
  input: Type.Union([
    Type.String(),
    Type.Array(Type.String(), { minItems: 1 }),
    Type.Array(Type.Integer({ minimum: 0 }), { minItems: 1 }),
    Type.Array(Type.Array(Type.Integer({ minimum: 0 }), { minItems: 1 }), { minItems: 1 }),
  ]),
  encoding_format: Type.Optional(Type.Union([Type.Literal('float'), Type.Literal('base64')])),
  user: Type.Optional(Type.String()),
});
export type EmbeddingBody = Static<typeof EmbeddingBody>;

/**
 * Prompt text as pieces, in order: strings, and long strings left in the raw body (see request-body.ts).
 * What the prefix hash and the token estimate read.
 */
export type TextPiece = string | TextSpan;

/** A prompt string, or where it lies in the raw body when the parser left it there ('' in the parsed value). */
const text = (value: string, spans: ReadonlyMap<string, TextSpan>, path: () => string): TextPiece =>
  value === '' && spans.size > 0 ? (spans.get(path()) ?? '') : value;

/** A chat request's messages in order, each as its role, a newline, its text (content string or text parts), a newline. */
export function chatPieces(messages: ChatCompletionBody['messages'], spans: ReadonlyMap<string, TextSpan>): TextPiece[] {
  const out: TextPiece[] = [];
  messages.forEach((m, i) => {
    out.push(`${m.role}\n`);
    const c = m.content;
    if (typeof c === 'string') out.push(text(c, spans, () => `messages.${i}.content`));
    else if (Array.isArray(c)) {
      c.forEach((p, j) => {
        if (p.type === 'text' && p.text !== undefined) out.push(text(p.text, spans, () => `messages.${i}.content.${j}.text`));
      });
    }
    out.push('\n');
  });
  return out;
}

/**
 * A completion prompt or embedding input (`member` names which) in order: a string, strings joined by newlines,
 * or token ids rendered as their numbers (which still hash consistently).
 */
export function promptPieces(
  prompt: CompletionBody['prompt'] | EmbeddingBody['input'],
  spans: ReadonlyMap<string, TextSpan>,
  member: 'prompt' | 'input',
): TextPiece[] {
  if (typeof prompt === 'string') return [text(prompt, spans, () => member)];
  const out: TextPiece[] = [];
  (prompt as unknown[]).forEach((p, i) => {
    if (i > 0) out.push('\n');
    out.push(typeof p === 'string' ? text(p, spans, () => `${member}.${i}`) : Array.isArray(p) ? p.join(' ') : String(p));
  });
  return out;
}

/**
 * Number of prompt tokens when the prompt is given as token ids (one list or several): exact, where the text
 * estimate of such a prompt (its numbers as text) would be ≈1.5× too high. Undefined for text prompts.
 */
export function tokenIdCount(prompt: CompletionBody['prompt'] | EmbeddingBody['input']): number | undefined {
  if (!Array.isArray(prompt) || prompt.length === 0) return undefined;
  if (typeof prompt[0] === 'number') return prompt.length;
  if (!Array.isArray(prompt[0])) return undefined;
  let n = 0;
  for (const ids of prompt as number[][]) n += ids.length;
  return n;
}
