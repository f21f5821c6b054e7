import { estimateTokens } from '@brix/tokenizer';
import { promptPieces, tokenIdCount } from './schemas';

describe('prompt token counts', () => {
  it('counts token-id prompts exactly, one list or several', () => {
    expect(tokenIdCount([101, 2023, 2003, 1037])).toBe(4);
    expect(tokenIdCount([[1, 2, 3], [4, 5], [6]])).toBe(6);
  });

  it('leaves text prompts to the text estimate', () => {
    expect(tokenIdCount('Hello there')).toBeUndefined();
    expect(tokenIdCount(['Hello', 'there'])).toBeUndefined();
  });

  it('is what the text estimate of the same ids would overshoot', () => {
    const ids = Array.from({ length: 1000 }, (_, i) => 10_000 + i * 97);
    const fromText = estimateTokens(Buffer.byteLength(promptPieces(ids, new Map(), 'prompt').join(''), 'utf8'));
    expect(tokenIdCount(ids)).toBe(1000);
    expect(fromText).toBeGreaterThan(1300);
  });
});
