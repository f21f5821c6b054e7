import { chatPromptTokens, completionPromptTokens, llama3Tokenizer } from '@brix/tokenizer';
import { estimatingPromptEncoder, exactPromptEncoder } from './prompt';

describe('prompt encoders', () => {
  it('exact: the Llama-3 tokenizer with its chat template', () => {
    const e = exactPromptEncoder(llama3Tokenizer);
    const messages = [{ role: 'user', content: 'Hello world' }];
    expect(e.exact).toBe(true);
    expect(e.chat(messages)).toEqual(chatPromptTokens(llama3Tokenizer, messages));
    expect(e.text('Hello world')).toEqual(completionPromptTokens(llama3Tokenizer, 'Hello world'));
  });

  it.each([
    // BOS + ⌈bytes / 4⌉
    { text: '', count: 1 },
    { text: 'abcd', count: 2 },
    { text: 'abcde', count: 3 },
    // "é" is 2 UTF-8 bytes: 10 bytes → 3 ids + BOS
    { text: 'éééééé'.slice(0, 5), count: 4 },
  ])('estimate: "$text" → $count ids', ({ text, count }) => {
    expect(estimatingPromptEncoder().text(text)).toHaveLength(count);
  });

  it('estimate: ids are ordinary tokens derived from the bytes, so equal prefixes share ids', () => {
    const e = estimatingPromptEncoder();
    const shared = 'x'.repeat(4000);
    const a = e.text(`${shared} first tail`);
    const b = e.text(`${shared} second, different tail`);
    expect(e.exact).toBe(false);
    expect(a[0]).toBe(128000);
    // 4000 shared bytes = 1000 shared ids after BOS
    expect(a.slice(0, 1001)).toEqual(b.slice(0, 1001));
    expect(a.slice(1001)).not.toEqual(b.slice(1001));
    expect(a.slice(1).every((id) => id >= 0 && id < 65536)).toBe(true);
    // A chat prompt estimate covers the rendered template
    const chat = e.chat([{ role: 'user', content: shared }]);
    expect(chat.length).toBeGreaterThan(1001);
  });
});
