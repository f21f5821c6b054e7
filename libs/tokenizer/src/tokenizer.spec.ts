import {
  chatPromptTokens,
  completionPromptTokens,
  estimateTokens,
  llama3Tokenizer,
  messageText,
  renderLlama3Chat,
} from './tokenizer';

describe('llama3Tokenizer', () => {
  it('encodes with real BPE ids and decodes back', () => {
    // "Hello world" is two Llama-3 tokens: "Hello" (9906) and " world" (1917).
    expect(llama3Tokenizer.encode('Hello world')).toEqual([9906, 1917]);
    expect(llama3Tokenizer.decode([9906, 1917])).toBe('Hello world');
  });

  it('prepends BOS only when asked', () => {
    expect(completionPromptTokens(llama3Tokenizer, 'Hello')[0]).toBe(128000);
    expect(llama3Tokenizer.encode('Hello')[0]).not.toBe(128000);
  });

  it('renders the Llama 3 chat template with special tokens as single ids', () => {
    const text = renderLlama3Chat([{ role: 'user', content: 'Hi there' }]);
    expect(text).toBe(
      '<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n',
    );
    const ids = chatPromptTokens(llama3Tokenizer, [{ role: 'user', content: 'Hi there' }]);
    expect(ids[0]).toBe(128000);
    expect(ids.filter((id) => id === 128000)).toHaveLength(1);
    expect(ids).toContain(128009); // <|eot_id|>
    expect(ids.at(-1)).toBe(271); // "\n\n" after the assistant header
  });

  it('counts only text parts of multi-part content', () => {
    expect(messageText([{ type: 'text', text: 'a' }, { type: 'image_url' }, { type: 'text', text: 'b' }])).toBe('ab');
    expect(messageText(null)).toBe('');
  });

  it('estimates about four bytes per token, rounding up', () => {
    expect(estimateTokens(0)).toBe(0);
    expect(estimateTokens(9)).toBe(3);
  });
});
