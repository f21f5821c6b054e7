import { llama3Tokenizer } from '@brix/tokenizer';
import { SyntheticText } from './text';

describe('SyntheticText', () => {
  const text = new SyntheticText(llama3Tokenizer);
  const ctx = (requestId: string, index: number, last = false, finishReason: 'stop' | 'length' = 'length') =>
    text.tokenSource({
      requestId,
      index,
      last,
      finishReason,
      rng: undefined as never,
      vocabSize: 128256,
    });

  it('generates passage tokens whose pieces concatenate to the decoded text', () => {
    const ids = Array.from({ length: 40 }, (_, i) => ctx('req-1', i));
    expect(ids.map((id) => text.piece(id)).join('')).toBe(llama3Tokenizer.decode(ids));
    // different requests start at different places in the passage
    expect(Array.from({ length: 5 }, (_, i) => ctx('req-2', i))).not.toEqual(ids.slice(0, 5));
  });

  it('ends a "stop" request with <|eot_id|>, whose text is empty', () => {
    expect(ctx('r', 9, true, 'stop')).toBe(128009);
    expect(text.piece(128009)).toBe('');
    // a request cut by length ends on an ordinary token
    expect(ctx('r', 9, true, 'length')).not.toBe(128009);
  });
});
