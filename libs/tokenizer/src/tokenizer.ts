import llama3 from 'llama3-tokenizer-js';

/** A model family's tokenizer: real BPE token ids, not whitespace words. */
export interface Tokenizer {
  /** Tokenizer family, e.g. "llama3". */
  readonly family: string;
  /** Token ids of `text`, without BOS/EOS unless `special` is set. */
  encode(text: string, options?: { addBos?: boolean }): number[];
  decode(ids: readonly number[]): string;
  /** Id of the beginning-of-text token prepended by the engine. */
  readonly bosId: number;
  /** Ids that end generation (EOS and end-of-turn). */
  readonly stopIds: readonly number[];
}

export interface ChatMessage {
  role: string;
  /** Plain text, or OpenAI content parts of which the text parts count. */
  content: string | null | ReadonlyArray<{ type: string; text?: string }>;
}

export function messageText(content: ChatMessage['content']): string {
  if (content === null) return '';
  if (typeof content === 'string') return content;
  return content.map((p) => (p.type === 'text' && p.text ? p.text : '')).join('');
}

/**
 * Llama 3's BPE (128k vocabulary). The npm package bakes the vocabulary in, so nothing is downloaded;
 * special tokens written in text (`<|eot_id|>`) encode to their ids, as they do in the real tokenizer.
 */
export const llama3Tokenizer: Tokenizer = {
  family: 'llama3',
  bosId: 128000,
  stopIds: [128001, 128009],
  encode: (text, options = {}) => llama3.encode(text, { bos: options.addBos ?? false, eos: false }),
  decode: (ids) => llama3.decode([...ids]),
};

/**
 * Renders chat messages the way Llama 3's chat template does, ending with the assistant header so the
 * model's answer follows. Engines count prompt tokens on this rendering, not on the raw message text.
 */
export function renderLlama3Chat(messages: readonly ChatMessage[]): string {
  let out = '<|begin_of_text|>';
  for (const m of messages) {
    out += `<|start_header_id|>${m.role}<|end_header_id|>\n\n${messageText(m.content).trim()}<|eot_id|>`;
  }
  return out + '<|start_header_id|>assistant<|end_header_id|>\n\n';
}

/** Token ids of a chat request's prompt as the engine sees it (template applied, BOS included once). */
export function chatPromptTokens(tokenizer: Tokenizer, messages: readonly ChatMessage[]): number[] {
  return tokenizer.encode(renderLlama3Chat(messages));
}

/** Token ids of a completion prompt as the engine sees it (BOS prepended). */
export function completionPromptTokens(tokenizer: Tokenizer, prompt: string): number[] {
  return tokenizer.encode(prompt, { addBos: true });
}

/**
 * A cheap token-count estimate from UTF-8 length, for hot paths where exact BPE would cost too much
 * (≈100 ms for a 220 KB prompt). English text averages ≈4 bytes per Llama-3 token.
 */
export function estimateTokens(byteLength: number, bytesPerToken = 4): number {
  return Math.ceil(byteLength / bytesPerToken);
}
