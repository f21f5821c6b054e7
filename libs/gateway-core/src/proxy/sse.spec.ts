import { isUsageOnlyChunk, type SseEvent, SseSplitter, usageOf } from './sse';

function split(chunks: Array<string | Buffer>): SseEvent[] {
  const events: SseEvent[] = [];
  const s = new SseSplitter((e) => events.push(e));
  for (const c of chunks) s.push(typeof c === 'string' ? Buffer.from(c) : c);
  s.end();
  return events;
}

describe('SseSplitter', () => {
  it.each([
    ['whole events in one chunk', ['data: {"a":1}\n\ndata: [DONE]\n\n'], ['{"a":1}', '[DONE]']],
    ['an event split mid-line', ['data: {"a"', ':1}\n', '\ndata: [DONE]\n\n'], ['{"a":1}', '[DONE]']],
    ['CRLF terminators', ['data: x\r\n\r\ndata: y\r\n\r\n'], ['x', 'y']],
    ['multi-line data joined by newlines', ['data: a\ndata: b\n\n'], ['a\nb']],
    ['a final event without a blank line', ['data: x\n\ndata: tail'], ['x', 'tail']],
    ['data without the optional space', ['data:x\n\n'], ['x']],
  ])('handles %s', (_case, chunks, data) => {
    expect(split(chunks).map((e) => e.data)).toEqual(data);
  });

  it('keeps multi-byte characters split across chunks intact', () => {
    const bytes = Buffer.from('data: {"t":"héllo"}\n\n');
    const cut = bytes.indexOf(0xc3) + 1; // inside the two-byte "é"
    expect(split([bytes.subarray(0, cut), bytes.subarray(cut)])[0]!.data).toBe('{"t":"héllo"}');
  });

  it('reports comments as events without data', () => {
    expect(split([': keep-alive\n\n'])).toEqual([{ raw: ': keep-alive', data: undefined }]);
  });
});

describe('usage helpers', () => {
  it('reads usage with cached tokens', () => {
    expect(
      usageOf({
        usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15, prompt_tokens_details: { cached_tokens: 8 } },
      }),
    ).toEqual({
      promptTokens: 10,
      completionTokens: 5,
      cachedTokens: 8,
    });
    expect(usageOf({ usage: null })).toBeUndefined();
    expect(usageOf(null)).toBeUndefined();
  });

  it('recognises the usage-only final chunk', () => {
    expect(isUsageOnlyChunk({ choices: [], usage: { prompt_tokens: 1 } })).toBe(true);
    expect(isUsageOnlyChunk({ choices: [{ delta: {} }], usage: { prompt_tokens: 1 } })).toBe(false);
    expect(isUsageOnlyChunk({ choices: [] })).toBe(false);
  });
});
