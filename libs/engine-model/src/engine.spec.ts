import { Rng, VirtualClock, WallClock } from '@brix/clock';
import { BadRequestError, ConflictError, ModelNotFoundError, NotFoundError } from '@brix/contracts';
import { type EngineSnapshot, type FinishedRequest, type StepRecord, requestIntervals } from './core/types';
import { SimEngine } from './engine';
import { harness, toks } from './spec-support';

/** A seeded mixed workload: Poisson arrivals, shared prefixes, sampled output lengths (ignoreEos off). */
function mixedRun(seed: number) {
  const h = harness({ seed, maxNumSeqs: 16, numGpuBlocksOverride: 200, maxModelLen: 1024 });
  const rng = new Rng(99);
  const shared = toks(256, 50_000);
  let t = 0;
  for (let i = 0; i < 60; i++) {
    t += rng.exponential(20);
    const prompt = [...shared.slice(0, rng.int(0, 256)), ...toks(rng.int(10, 300), i * 1000)];
    h.clock.setTimer(t - h.clock.now(), () => h.submit(`r${i}`, prompt, { ignoreEos: false, maxTokens: 400 }));
  }
  h.run();
  return {
    finished: [...h.finished.values()].sort((a, b) => a.id.localeCompare(b.id)),
    steps: h.steps.map((s) => [s.startMs, s.durationMs, s.scheduledSeqs, s.preempted]),
    counters: h.engine.snapshot().counters,
  };
}

describe('SimEngine on a VirtualClock', () => {
  it('is deterministic: the same seed gives the same requests, tokens and steps', () => {
    const a = mixedRun(7);
    const b = mixedRun(7);
    expect(b).toEqual(a);
    // the workload is not trivial: prefix hits, and output lengths drawn by the sampler
    expect(a.counters.prefixCacheHits).toBeGreaterThan(0);
    expect(new Set(a.finished.map((f) => f.outputTokens)).size).toBeGreaterThan(10);
  });

  it('gives the same token ids and times whether tokens are streamed (drawn at once) or not (drawn lazily)', () => {
    const run = (stream: boolean) => {
      const clock = new VirtualClock(0);
      // a small cache, so output blocks are hashed, cached and evicted, and requests get preempted
      const engine = new SimEngine(
        { model: 'llama-3-8b', gpu: 'H100', maxModelLen: 1024, numGpuBlocksOverride: 120, maxNumSeqs: 16, seed: 5 },
        { clock },
      );
      const finished: FinishedRequest[] = [];
      const rng = new Rng(4);
      const shared = toks(200, 70_000);
      for (let i = 0; i < 40; i++) {
        const prompt = [...shared.slice(0, rng.int(0, 200)), ...toks(rng.int(20, 200), i * 1000)];
        clock.setTimer(i * 15, () =>
          engine.submit(
            { id: `r${i}`, promptTokenIds: prompt, maxTokens: 300 },
            stream ? { onToken: () => undefined, onFinish: (f) => finished.push(f) } : { onFinish: (f) => finished.push(f) },
          ),
        );
      }
      clock.runAll();
      return { finished, counters: engine.snapshot().counters };
    };
    const eager = run(true);
    const lazy = run(false);
    expect(lazy).toEqual(eager);
    expect(eager.counters.preemptions).toBeGreaterThan(0);
    expect(eager.finished.every((f) => f.outputTokenIds.length === f.outputTokens)).toBe(true);
  });

  it.each([
    // a small cache: generated blocks are evicted, requests preempted (and recomputed from their own blocks)
    { name: 'small cache', numGpuBlocksOverride: 120 },
    // a token budget below max_num_seqs: running requests the budget does not reach wait a step
    { name: 'small budget', maxNumBatchedTokens: 12 },
  ])(
    'gives the same steps, counters and results with deferred block hashes and steady decoding as with neither (KV events on, ids streamed): $name',
    ({ name: _name, ...limits }) => {
      const run = (mode: 'events' | 'stream' | 'deferred') => {
        const clock = new VirtualClock(0);
        const steps: StepRecord[] = [];
        const snapshots: EngineSnapshot[] = [];
        const engine = new SimEngine(
          { model: 'llama-3-8b', gpu: 'H100', maxModelLen: 1024, maxNumSeqs: 16, seed: 5, ...limits },
          { clock, onStep: (s) => steps.push(s), ...(mode === 'events' ? { onKvEvents: () => undefined } : {}) },
        );
        const finished: Array<Omit<FinishedRequest, 'outputTokenIds'>> = [];
        const rng = new Rng(4);
        const shared = toks(200, 70_000);
        for (let i = 0; i < 40; i++) {
          const prompt = [...shared.slice(0, rng.int(0, 200)), ...toks(rng.int(20, 200), i * 1000)];
          clock.setTimer(i * 15, () => {
            engine.submit(
              { id: `r${i}`, promptTokenIds: prompt, maxTokens: 300 },
              {
                ...(mode === 'stream' ? { onToken: () => undefined } : {}),
                // ids never read: the deferred blocks stay unhashed unless their request is preempted
                onFinish: ({ outputTokenIds: _ids, ...rest }) => finished.push(rest),
              },
            );
            snapshots.push(engine.snapshot());
          });
          // some requests are aborted while they decode, mostly in the middle of a step
          if (i % 7 === 3) clock.setTimer(i * 15 + 400, () => engine.abort(`r${i}`));
        }
        clock.runAll();
        return { finished, steps, snapshots };
      };
      const eager = run('events');
      expect(run('deferred')).toEqual(eager);
      expect(run('stream')).toEqual(eager);
      if (limits.numGpuBlocksOverride) expect(eager.steps.some((s) => s.preempted > 0)).toBe(true);
      expect(eager.finished.filter((f) => f.finishReason === 'abort').length).toBeGreaterThan(0);
    },
  );

  it('lets a later prompt that repeats an answer hit the answer’s blocks once its ids were read', () => {
    const clock = new VirtualClock(0);
    const engine = new SimEngine({ model: 'llama-3-8b', gpu: 'H100', maxModelLen: 1024 }, { clock });
    const prompt = toks(40);
    let answer: FinishedRequest | undefined;
    engine.submit({ id: 'turn-1', promptTokenIds: prompt, maxTokens: 30, ignoreEos: true }, { onFinish: (f) => (answer = f) });
    clock.runAll();
    const second = [...prompt, ...answer!.outputTokenIds, ...toks(10, 9000)];
    let hit = -1;
    engine.submit({ id: 'turn-2', promptTokenIds: second, maxTokens: 1 }, { onFinish: (f) => (hit = f.cachedPromptTokens) });
    clock.runAll();
    // 40 prompt + 29 computed output tokens (the last one is never fed back) fill 4 blocks of 16.
    expect(hit).toBe(64);
  });

  it('draws different output lengths under another seed', () => {
    const lengths = (seed: number) => mixedRun(seed).finished.map((f) => f.outputTokens);
    expect(lengths(8)).not.toEqual(lengths(7));
  });

  it('sets no timer while idle, and goes idle when the work is done', () => {
    const h = harness();
    expect(h.clock.pending).toBe(0);
    h.submit('r', toks(10));
    h.run();
    expect(h.engine.idle).toBe(true);
    expect(h.clock.pending).toBe(0);
  });

  it('times a request with vLLM’s intervals: queue, prefill, decode, inference, TTFT, e2e, TPOT', () => {
    const h = harness();
    h.clock.advance(100);
    h.submit('r', toks(500), { maxTokens: 5, arrivalTimeMs: 90 });
    h.run();
    const f = h.finished.get('r')!;
    const [s0, s1, s2, s3, s4] = h.steps;
    const iv = requestIntervals(f);
    // arrived at the frontend at 90 ms, queued at 100 ms, scheduled at once
    expect(iv.queueMs).toBe(0);
    // prefill: the first step; TTFT adds the 10 ms before the engine saw it
    expect(iv.prefillMs).toBeCloseTo(s0!.durationMs, 9);
    expect(iv.ttftMs).toBeCloseTo(10 + s0!.durationMs, 9);
    // decode: four one-token steps; TPOT = decode / (5 − 1)
    const decode = s1!.durationMs + s2!.durationMs + s3!.durationMs + s4!.durationMs;
    expect(iv.decodeMs).toBeCloseTo(decode, 9);
    expect(iv.tpotMs).toBeCloseTo(decode / 4, 9);
    expect(iv.inferenceMs).toBeCloseTo(s0!.durationMs + decode, 9);
    expect(iv.e2eMs).toBeCloseTo(10 + s0!.durationMs + decode, 9);
    // each token is stamped with the end of its step
    expect(h.tokenTimes.get('r')).toEqual(h.steps.map((s) => s.endMs));
  });

  it('adds the frontend latency to TTFT but not to queue time', () => {
    const h = harness({ frontendLatencyMs: 20 });
    h.submit('r', toks(100), { maxTokens: 2 });
    h.clock.advance(10);
    // still in the frontend: not waiting in the engine yet
    expect(h.engine.snapshot().waiting).toBe(0);
    h.run();
    const iv = requestIntervals(h.finished.get('r')!);
    expect(iv.queueMs).toBe(0);
    expect(iv.ttftMs).toBeCloseTo(20 + h.steps[0]!.durationMs, 9);
  });

  it('sums TTFT and inter-token gaps as vLLM’s histograms observe them, preempted requests included', () => {
    // 40 blocks of 16 tokens for 3 requests that grow to 20 blocks each: preemptions happen
    const h = harness({ frontendLatencyMs: 5, numGpuBlocksOverride: 40, maxNumSeqs: 3, maxModelLen: 512 });
    for (let i = 0; i < 3; i++) h.submit(`r${i}`, toks(200, i * 1000), { maxTokens: 120 });
    h.run();
    const c = h.engine.snapshot().counters;
    expect(c.preemptions).toBeGreaterThan(0);
    let ttft = 0;
    let itl = 0;
    let gaps = 0;
    for (const [id, f] of h.finished) {
      ttft += requestIntervals(f).ttftMs!;
      const times = h.tokenTimes.get(id)!;
      for (let k = 1; k < times.length; k++) itl += times[k]! - times[k - 1]!;
      gaps += times.length - 1;
    }
    // one TTFT observation per request; one ITL observation per token after the first (3 × 119)
    expect(c.ttftCount).toBe(3);
    expect(c.itlCount).toBe(gaps);
    expect(gaps).toBe(357);
    expect(c.ttftMsSum).toBeCloseTo(ttft, 6);
    expect(c.itlMsSum).toBeCloseTo(itl, 6);
  });

  it('loads an adapter in clock time; requests may name it only afterwards', async () => {
    const clock = new VirtualClock(0);
    const engine = new SimEngine(
      { model: 'llama-3-8b', gpu: 'H100', maxModelLen: 2048, enableLora: true, adapterLoadMs: 50 },
      { clock },
    );
    let loaded = false;
    const load = engine.loadAdapter('sql').then(() => (loaded = true));
    expect(() => engine.submit({ id: 'early', promptTokenIds: toks(5), adapter: 'sql' })).toThrow(ModelNotFoundError);
    await expect(engine.loadAdapter('sql')).rejects.toThrow(ConflictError);
    clock.advance(49);
    await Promise.resolve();
    expect(loaded).toBe(false);
    clock.advance(1);
    await load;
    expect(engine.adapters()).toEqual(['sql']);
    engine.submit({ id: 'late', promptTokenIds: toks(5), adapter: 'sql' });
    engine.unloadAdapter('sql');
    expect(() => engine.unloadAdapter('sql')).toThrow(NotFoundError);
  });

  it('refuses adapters when LoRA is off', async () => {
    const engine = new SimEngine({ model: 'llama-3-8b', gpu: 'H100', maxModelLen: 2048 }, { clock: new VirtualClock() });
    await expect(engine.loadAdapter('x')).rejects.toThrow(BadRequestError);
  });

  it('stops: every live request ends as aborted and new ones are refused', () => {
    const h = harness({ maxNumSeqs: 1 });
    h.submit('a', toks(10, 0), { maxTokens: 100 });
    h.submit('b', toks(10, 100));
    h.clock.advance(20);
    h.engine.stop();
    expect(h.finished.get('a')!.finishReason).toBe('abort');
    expect(h.finished.get('b')!.finishReason).toBe('abort');
    expect(() => h.submit('c', toks(10))).toThrow(BadRequestError);
    h.run();
    expect(h.clock.pending).toBe(0);
  });
});

describe('SimEngine on a WallClock', () => {
  it('runs the same engine in real time', async () => {
    const engine = new SimEngine({ model: 'qwen2.5-0.5b', gpu: 'H100', maxModelLen: 2048 }, { clock: new WallClock() });
    const tokens: number[] = [];
    const done = new Promise<string>((resolve) =>
      engine.submit(
        { id: 'live', promptTokenIds: toks(32), maxTokens: 4, ignoreEos: true },
        { onToken: (_t, i) => tokens.push(i), onFinish: (f) => resolve(f.finishReason) },
      ),
    );
    await expect(done).resolves.toBe('length');
    expect(tokens).toEqual([0, 1, 2, 3]);
    expect(engine.idle).toBe(true);
  });
});
