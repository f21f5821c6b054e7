import { BadRequestError, ConflictError, ModelNotFoundError } from '@brix/contracts';
import { hashBlocks } from '@brix/block-hash';
import { StepWork } from '../latency/step-time';
import { harness, toks } from '../spec-support';

describe('continuous batching', () => {
  it('never runs more than max_num_seqs sequences; the rest wait their turn', () => {
    const h = harness({ maxNumSeqs: 3 });
    for (let i = 0; i < 7; i++) h.submit(`r${i}`, toks(20, i * 100), { maxTokens: 5 });
    h.run();
    expect(Math.max(...h.steps.map((s) => s.scheduledSeqs))).toBe(3);
    expect(Math.max(...h.steps.map((s) => s.running))).toBeLessThanOrEqual(3);
    // the first step admits exactly 3 of the 7
    expect(h.steps[0]!.admitted).toBe(3);
    expect(h.finished.size).toBe(7);
  });

  it('splits a long prompt into chunks of the token budget; the first token comes after the last chunk', () => {
    const h = harness({ maxNumBatchedTokens: 64 });
    h.submit('long', toks(150));
    h.run();
    // 150 prompt tokens with a 64-token budget: 64 + 64 + 22
    expect(h.steps.slice(0, 3).map((s) => s.prefillTokens)).toEqual([64, 64, 22]);
    const ttft = h.finished.get('long')!.timings.firstTokenMs!;
    expect(ttft).toBeCloseTo(h.steps[0]!.durationMs + h.steps[1]!.durationMs + h.steps[2]!.durationMs, 9);
  });

  it('schedules running requests first, then fills the budget with waiting prefill chunks', () => {
    const h = harness({ maxNumBatchedTokens: 64 });
    h.submit('a', toks(40, 0), { maxTokens: 4 });
    h.submit('b', toks(100, 500), { maxTokens: 4 });
    h.run();
    const first3 = h.steps.slice(0, 3).map((s) => [s.prefillTokens, s.decodeTokens]);
    // step 1: a's whole 40-token prompt + the first 24 of b's; step 2: a's decode, then 63 of b's remaining 76;
    // step 3: a's decode + b's last 13 (then b samples its first token)
    expect(first3).toEqual([
      [64, 0],
      [63, 1],
      [13, 1],
    ]);
    expect(h.finished.get('b')!.timings.firstTokenMs).toBeCloseTo(h.steps[2]!.endMs, 9);
  });

  it('puts requests submitted in the same tick into the same first step', () => {
    const h = harness();
    h.submit('a', toks(10, 0));
    h.submit('b', toks(10, 100));
    h.run();
    expect(h.steps[0]!.scheduledSeqs).toBe(2);
  });
});

describe('prefix caching', () => {
  it('reuses cached blocks of a repeated prompt: prefill work and step time drop by the cached tokens', () => {
    const h = harness();
    const prompt = toks(1000);
    h.submit('cold', prompt, { maxTokens: 1 });
    h.run();
    h.submit('warm', prompt, { maxTokens: 1 });
    h.run();
    // 1000 tokens: ⌊999/16⌋ = 62 full blocks = 992 tokens hit, 8 recomputed
    expect(h.finished.get('warm')!.cachedPromptTokens).toBe(992);
    expect(h.steps.map((s) => s.prefillTokens)).toEqual([1000, 8]);
    const lm = h.engine.engineCore.latency;
    expect(h.steps[0]!.durationMs).toBeCloseTo(lm.stepMs(StepWork.of([{ newTokens: 1000, contextTokens: 0 }])), 9);
    expect(h.steps[1]!.durationMs).toBeCloseTo(lm.stepMs(StepWork.of([{ newTokens: 8, contextTokens: 992 }])), 9);
    // 1000 cold tokens are compute-bound (≈21 ms on H100); 8 tokens only read the weights (≈5.6 ms) + overhead
    expect(h.steps[1]!.durationMs).toBeLessThan(h.steps[0]!.durationMs / 2.5);
    // counted in tokens per new request: 2 × 1000 queried, 992 hit
    expect(h.engine.snapshot().counters).toMatchObject({ prefixCacheQueries: 2000, prefixCacheHits: 992 });
  });

  it.each([
    // exactly 4 blocks: ⌊63/16⌋ = 3 blocks may hit, the last block is recomputed
    [64, 48],
    // 4 blocks + 1 token: all 4 blocks hit
    [65, 64],
    // less than one block + 1: nothing to hit
    [16, 0],
  ])('caps a %i-token prompt’s hit at whole blocks of prompt − 1: %i tokens', (len, hit) => {
    const h = harness();
    h.submit('first', toks(len), { maxTokens: 1 });
    h.run();
    h.submit('again', toks(len), { maxTokens: 1 });
    h.run();
    expect(h.finished.get('again')!.cachedPromptTokens).toBe(hit);
  });

  it('evicts the least recently freed blocks first, each request’s tail before its head', () => {
    // 10 blocks of 16 tokens.
    const h = harness({ numGpuBlocksOverride: 10, maxModelLen: 160 });
    const pa = toks(48, 0);
    const pb = toks(48, 5000);
    h.submit('a', pa, { maxTokens: 1 });
    h.run();
    h.submit('b', pb, { maxTokens: 1 });
    h.run();
    // c needs 8 blocks: the 4 never used, then a's blocks tail-first, then b's tail.
    h.submit('c', toks(128, 9000), { maxTokens: 1 });
    h.run();
    const [a0, a1, a2] = hashBlocks(pa, { blockSize: 16 });
    const [, , b2] = hashBlocks(pb, { blockSize: 16 });
    const removed = h.kv.flatMap((b) => b.events).filter((e) => e.type === 'BlockRemoved');
    expect(removed.map((e) => e.blockHashes[0])).toEqual([a2, a1, a0, b2]);
    // b's first two blocks survived: the same prompt hits 32 tokens
    h.submit('b-again', pb, { maxTokens: 1 });
    h.run();
    expect(h.finished.get('b-again')!.cachedPromptTokens).toBe(32);
  });

  it('keeps adapters apart: the same tokens under another adapter do not hit', () => {
    const h = harness({ enableLora: true, loraModules: ['sql'], maxCpuLoras: 2 });
    h.submit('base', toks(100), { maxTokens: 1 });
    h.run();
    h.submit('lora', toks(100), { maxTokens: 1, adapter: 'sql' });
    h.run();
    expect(h.finished.get('lora')!.cachedPromptTokens).toBe(0);
  });
});

describe('preemption', () => {
  it('preempts the most recently admitted request by recompute when blocks run out; it completes later', () => {
    // 8 blocks = 128 token slots; two requests growing to 32 + 60 = 92 tokens (6 blocks) each cannot both fit.
    const h = harness({ numGpuBlocksOverride: 8, maxModelLen: 128 });
    h.submit('first', toks(32, 0), { maxTokens: 60 });
    h.submit('second', toks(32, 100), { maxTokens: 60 });
    h.run();
    const first = h.finished.get('first')!;
    const second = h.finished.get('second')!;
    expect(first).toMatchObject({ outputTokens: 60, finishReason: 'length', preemptions: 0 });
    expect(second).toMatchObject({ outputTokens: 60, finishReason: 'length', preemptions: 1 });
    expect(second.timings.lastTokenMs!).toBeGreaterThan(first.timings.lastTokenMs!);
    const counters = h.engine.snapshot().counters;
    expect(counters.preemptions).toBe(1);
    // the resumed request is not counted again by the prefix cache: 2 × 32 queried
    expect(counters.prefixCacheQueries).toBe(64);
    // no waiting request is admitted in the step that preempted
    const preemptStep = h.steps.find((s) => s.preempted > 0)!;
    expect(preemptStep.admitted).toBe(0);
    // The recompute is visible as a prefill step after the first request finished: the second re-reads its prompt
    // and 33 generated tokens (65 − a 32-token cache hit on its surviving blocks).
    const resume = h.steps.find((s) => s.startMs >= first.timings.lastTokenMs! && s.prefillTokens > 1)!;
    expect(resume.prefillTokens).toBe(33);
  });
});

describe('LoRA', () => {
  it('admits at most max_loras distinct adapters per batch: a third adapter waits, base requests do not', () => {
    const h = harness({ enableLora: true, loraModules: ['a', 'b', 'c'], maxLoras: 2, maxCpuLoras: 3 });
    h.submit('ra', toks(20, 0), { adapter: 'a', maxTokens: 10 });
    h.submit('rb', toks(20, 100), { adapter: 'b', maxTokens: 10 });
    h.submit('rc', toks(20, 200), { adapter: 'c', maxTokens: 10 });
    h.submit('base', toks(20, 300), { maxTokens: 10 });
    h.clock.advance(0);
    const snap = h.engine.snapshot();
    expect(snap.lora).toMatchObject({ maxLoras: 2, waiting: ['c'] });
    expect(snap.lora.running.sort()).toEqual(['a', 'b']);
    h.run();
    // the first step ran a, b and the base request; c was skipped, keeping its place
    expect(h.steps[0]!.scheduledSeqs).toBe(3);
    expect(h.finished.get('base')!.timings.firstScheduledMs).toBe(0);
    expect(h.finished.get('rc')!.timings.firstScheduledMs!).toBeGreaterThanOrEqual(h.finished.get('ra')!.timings.finishedMs);
  });

  it('pays the adapter load time in the step that first needs an adapter not in host memory', () => {
    // max_cpu_loras 1: registering a then b leaves only b loaded.
    const h = harness({ enableLora: true, loraModules: ['a', 'b'], maxCpuLoras: 1, adapterLoadMs: 50 });
    h.submit('ra', toks(20), { adapter: 'a', maxTokens: 2 });
    h.run();
    const lm = h.engine.engineCore.latency;
    const work = StepWork.of([{ newTokens: 20, contextTokens: 0 }], { adapters: 1, loads: 1 });
    expect(h.steps[0]!.adapterLoads).toEqual(['a']);
    // the model's step time for a 20-token LoRA prefill plus one 50 ms load
    expect(h.steps[0]!.durationMs).toBeCloseTo(lm.stepMs(work, 50), 9);
    expect(h.steps[1]!.adapterLoads).toEqual([]);
    expect(h.engine.snapshot().lora.loaded).toEqual(['a']);
  });
});

describe('KV events', () => {
  it('publish BlockStored with vLLM’s fields for prompt blocks and for blocks filled by generated tokens', () => {
    const h = harness();
    const prompt = toks(40);
    h.submit('r', prompt, { maxTokens: 30 });
    h.run();
    const out = [...h.finished.get('r')!.outputTokenIds];
    const all = hashBlocks([...prompt, ...out], { blockSize: 16 });
    const stored = h.kv.flatMap((b) => b.events).filter((e) => e.type === 'BlockStored');
    // 40 prompt tokens fill 2 blocks at once; generated tokens fill block 3 (token 48) and block 4 (token 64);
    // the 70th token never completes a block.
    expect(stored).toEqual([
      {
        type: 'BlockStored',
        blockHashes: all.slice(0, 2),
        parentBlockHash: null,
        tokenIds: prompt.slice(0, 32),
        blockSize: 16,
        loraId: null,
        medium: 'GPU',
        loraName: null,
      },
      {
        type: 'BlockStored',
        blockHashes: [all[2]],
        parentBlockHash: all[1],
        tokenIds: [...prompt.slice(32), ...out.slice(0, 8)],
        blockSize: 16,
        loraId: null,
        medium: 'GPU',
        loraName: null,
      },
      {
        type: 'BlockStored',
        blockHashes: [all[3]],
        parentBlockHash: all[2],
        tokenIds: out.slice(8, 24),
        blockSize: 16,
        loraId: null,
        medium: 'GPU',
        loraName: null,
      },
    ]);
    // each batch carries the end time of the step that produced it
    expect(h.kv[0]!.timeMs).toBeCloseTo(h.steps[0]!.endMs, 9);
  });

  it('carry the adapter’s integer id, and AllBlocksCleared on a prefix-cache reset', () => {
    const h = harness({ enableLora: true, loraModules: ['x', 'y'], maxCpuLoras: 2 });
    h.submit('r', toks(16), { adapter: 'y', maxTokens: 1 });
    h.run();
    const stored = h.kv.flatMap((b) => b.events).find((e) => e.type === 'BlockStored');
    // y was registered second: lora_int_id 2; its hash chain includes the adapter
    expect(stored).toMatchObject({
      loraId: 2,
      loraName: 'y',
      blockHashes: hashBlocks(toks(16), { blockSize: 16, adapter: 'y' }),
    });
    expect(h.engine.resetPrefixCache()).toBe(true);
    expect(h.kv.at(-1)!.events).toEqual([{ type: 'AllBlocksCleared' }]);
  });

  it('are not built at all without a listener', () => {
    const h = harness({}, { onKvEvents: undefined });
    h.submit('r', toks(64));
    h.run();
    expect(h.kv).toEqual([]);
    expect(h.engine.engineCore.takeKvEvents()).toEqual([]);
  });
});

describe('requests', () => {
  it.each([
    ['an empty prompt', { promptTokenIds: [] }, BadRequestError, /cannot be empty/],
    ['a prompt as long as the context', { promptTokenIds: toks(2048) }, BadRequestError, /maximum context length is 2048 tokens/],
    [
      'max_tokens past the context',
      { promptTokenIds: toks(2000), maxTokens: 100 },
      BadRequestError,
      /'max_tokens' or 'max_completion_tokens' is too large/,
    ],
    ['max_tokens 0', { promptTokenIds: toks(10), maxTokens: 0 }, BadRequestError, /max_tokens must be at least 1/],
    ['an unknown adapter', { promptTokenIds: toks(10), adapter: 'nope' }, ModelNotFoundError, /The model `nope` does not exist/],
  ])('refuses %s with a client error and queues nothing', (_name, req, errorClass, message) => {
    const h = harness();
    expect(() => h.engine.submit({ id: 'x', ...req })).toThrow(errorClass);
    expect(() => h.engine.submit({ id: 'x', ...req })).toThrow(message);
    expect(h.engine.snapshot().waiting).toBe(0);
    expect(h.engine.idle).toBe(true);
  });

  it('refuses an id that is still live', () => {
    const h = harness();
    h.submit('dup', toks(10));
    expect(() => h.submit('dup', toks(10))).toThrow(ConflictError);
  });

  it.each([
    // ignore_eos: exactly max_tokens, "length"
    [{ ignoreEos: true, maxTokens: 10 }, 10, 'length'],
    // natural length below max_tokens: EOS ends it, "stop"
    [{ ignoreEos: false, maxTokens: 10, naturalOutputTokens: 5 }, 5, 'stop'],
    // natural length above max_tokens: cut, "length"
    [{ ignoreEos: false, maxTokens: 10, naturalOutputTokens: 50 }, 10, 'length'],
    // min_tokens suppresses EOS until reached
    [{ ignoreEos: false, maxTokens: 10, minTokens: 8, naturalOutputTokens: 3 }, 8, 'stop'],
  ])('%j generates %i tokens and finishes with "%s"', (opts, n, reason) => {
    const h = harness();
    h.submit('r', toks(10), opts);
    h.run();
    expect(h.finished.get('r')).toMatchObject({ outputTokens: n, finishReason: reason });
    expect(h.engine.snapshot().counters.requestSuccess[reason as 'stop' | 'length']).toBe(1);
  });

  it('aborts a waiting request at once and a running one at the end of its step, without that step’s token', () => {
    const h = harness({ maxNumSeqs: 1 });
    h.submit('running', toks(10, 0), { maxTokens: 100 });
    h.submit('waiting', toks(10, 100));
    // 50 ms: several ≈5.7 ms decode steps; a step is in flight when the abort arrives
    h.clock.advance(50);
    expect(h.engine.abort('waiting')).toBe(true);
    expect(h.finished.get('waiting')).toMatchObject({ finishReason: 'abort', outputTokens: 0 });
    expect(h.engine.abort('running')).toBe(true);
    const tokensBefore = h.tokenTimes.get('running')!.length;
    expect(tokensBefore).toBeGreaterThan(0);
    h.run();
    const f = h.finished.get('running')!;
    expect(f.finishReason).toBe('abort');
    expect(f.outputTokens).toBe(tokensBefore);
    expect(h.engine.abort('running')).toBe(false);
    expect(h.engine.snapshot().counters.requestSuccess.abort).toBe(2);
  });
});

describe('metrics', () => {
  it('counts prompt tokens in the step of the first token, and iteration tokens per step', () => {
    const h = harness({ maxNumBatchedTokens: 64 });
    h.submit('r', toks(100), { maxTokens: 3 });
    h.run();
    // chunks of 64 and 36; the prompt (100) is counted when the second chunk produces the first token
    expect(h.steps.map((s) => s.promptTokensCompleted)).toEqual([0, 100, 0, 0]);
    expect(h.steps.map((s) => s.iterationTokens)).toEqual([0, 101, 1, 1]);
    expect(h.engine.snapshot().counters).toMatchObject({ promptTokens: 100, generationTokens: 3, steps: 4 });
  });

  it('reports KV usage as the fraction of blocks held by requests', () => {
    const h = harness({ numGpuBlocksOverride: 100, maxModelLen: 1024 });
    // the 160-token prompt holds 10 of the 100 blocks during its first step
    h.submit('r', toks(160), { maxTokens: 40 });
    h.clock.advance(0);
    expect(h.engine.snapshot().kvCacheUsage).toBeCloseTo(0.1, 12);
    h.run();
    // all freed at the end; the 12 full blocks of its 200 tokens stay cached (reusable) but count as free
    expect(h.engine.snapshot().kvCacheUsage).toBe(0);
    expect(h.engine.snapshot().cachedBlocks).toBe(12);
  });
});
