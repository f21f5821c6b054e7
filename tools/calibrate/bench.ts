// A closed-loop benchmark client in virtual time that measures the engine model the way `vllm bench serve`
// measures vLLM: every request is issued at once (--request-rate inf), at most `maxConcurrency` are in flight
// (--max-concurrency; TTFT starts when a request is sent, not while it waits for a slot), and the figures are
// vllm bench's: TTFT, TPOT = (e2e − TTFT)/(output − 1), ITL = every gap between tokens, throughput over the
// whole run's duration, percentiles by linear interpolation (numpy's default).
import { Rng, VirtualClock } from '@brix/clock';
import { type EngineConfig, type FinishedRequest, SimEngine, type StepRecord } from '@brix/engine-model';

export interface BenchRequest {
  inputTokens: number;
  /** Prompt token ids; unset: `inputTokens` random ids, distinct per request. */
  promptTokenIds?: number[];
  /** With ignoreEos the request generates exactly this many tokens; otherwise it stops (EOS) after them. */
  outputTokens: number;
  ignoreEos: boolean;
}

export interface BenchOptions {
  engine: EngineConfig;
  requests: BenchRequest[];
  /** Unset: no limit (all requests in flight at once). */
  maxConcurrency?: number;
  /** Seed of the random prompt token ids (distinct per request, so no prefix-cache hits, as vLLM's random dataset). */
  seed?: number;
}

export interface BenchResult {
  durationMs: number;
  completed: number;
  totalOutputTokens: number;
  requestThroughput: number;
  outputThroughput: number;
  ttftMs: number[];
  tpotMs: number[];
  itlMs: number[];
  e2eMs: number[];
  preemptions: number;
  steps: number;
  maxKvUsage: number;
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const pos = (p / 100) * (s.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}

export function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

export function runBench(options: BenchOptions): BenchResult {
  return new BenchSession(options.engine, options.seed).run(options.requests, options.maxConcurrency);
}

/**
 * One engine on one virtual clock, benchmarked run after run: the prefix cache and the clock carry over between
 * runs, as when a benchmark is repeated against a server that stays up.
 */
export class BenchSession {
  readonly clock = new VirtualClock(0);
  readonly engine: SimEngine;
  private readonly rng: Rng;
  private steps = 0;
  private maxKvUsage = 0;
  private runs = 0;

  constructor(engine: EngineConfig, seed = 1) {
    this.engine = new SimEngine(engine, {
      clock: this.clock,
      onStep: (s: StepRecord) => {
        this.steps++;
        this.maxKvUsage = Math.max(this.maxKvUsage, s.kvCacheUsage);
      },
    });
    this.rng = new Rng(seed);
  }

  run(requests: BenchRequest[], maxConcurrency?: number): BenchResult {
    const { clock, engine, rng } = this;
    const run = this.runs++;
    const vocab = engine.config.model.vocabSize;
    const limit = maxConcurrency ?? requests.length;
    const ttft: number[] = [];
    const tpot: number[] = [];
    const itl: number[] = [];
    const e2e: number[] = [];
    const startMs = clock.now();
    const steps0 = this.steps;
    const preempt0 = engine.snapshot().counters.preemptions;
    this.maxKvUsage = 0;
    let totalOutput = 0;
    let completed = 0;
    let next = 0;
    let lastDone = startMs;

    const send = (): void => {
      const i = next++;
      const r = requests[i]!;
      const prompt = r.promptTokenIds ?? Array.from({ length: r.inputTokens }, () => rng.int(0, vocab - 1));
      const sentAt = clock.now();
      let prev = -1;
      engine.submit(
        {
          id: `run${run}-${i}`,
          promptTokenIds: prompt,
          maxTokens: r.outputTokens,
          ignoreEos: r.ignoreEos,
          naturalOutputTokens: r.outputTokens,
          arrivalTimeMs: sentAt,
        },
        {
          onToken: (_t, _i, at) => {
            if (prev >= 0) itl.push(at - prev);
            prev = at;
          },
          onFinish: (f: FinishedRequest) => {
            const first = f.timings.firstTokenMs!;
            const last = f.timings.lastTokenMs!;
            ttft.push(first - sentAt);
            e2e.push(last - sentAt);
            if (f.outputTokens > 1) tpot.push((last - first) / (f.outputTokens - 1));
            totalOutput += f.outputTokens;
            completed++;
            lastDone = Math.max(lastDone, last);
            if (next < requests.length) send();
          },
        },
      );
    };
    for (let k = 0; k < Math.min(limit, requests.length); k++) send();
    clock.runAll();
    const durationMs = lastDone - startMs;
    return {
      durationMs,
      completed,
      totalOutputTokens: totalOutput,
      requestThroughput: (completed * 1000) / durationMs,
      outputThroughput: (totalOutput * 1000) / durationMs,
      ttftMs: ttft,
      tpotMs: tpot,
      itlMs: itl,
      e2eMs: e2e,
      preemptions: engine.snapshot().counters.preemptions - preempt0,
      steps: this.steps - steps0,
      maxKvUsage: this.maxKvUsage,
    };
  }
}

/** `n` identical fixed-length requests. */
export function fixed(n: number, inputTokens: number, outputTokens: number, ignoreEos = true): BenchRequest[] {
  return Array.from({ length: n }, () => ({ inputTokens, outputTokens, ignoreEos }));
}
