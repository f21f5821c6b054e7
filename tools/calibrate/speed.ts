// Simulation speed of the engine model: N engines on one virtual clock serving an open-loop workload, timed in
// wall-clock. Answers "can the cluster simulation run an hour of traffic on 8 engines in well under a minute?".
import { Rng, VirtualClock } from '@brix/clock';
import { SimEngine } from '@brix/engine-model';

export interface SpeedScenario {
  name: string;
  engines: number;
  /** Poisson arrivals per second per engine. */
  ratePerEngine: number;
  /** Simulated seconds. */
  horizonS: number;
}

export interface SpeedResult extends SpeedScenario {
  wallMs: number;
  requests: number;
  promptTokens: number;
  outputTokens: number;
  steps: number;
  prefixHitRate: number;
}

/**
 * Llama-3-8B on H100s, prompts = a prefix of one of 50 shared 1024-token documents (uniform length 0–1024) plus
 * 50–600 fresh tokens, natural output lengths from the default sampler (mean ≈180), max_tokens 1024, round-robin.
 */
export function runSpeed(s: SpeedScenario): SpeedResult {
  const clock = new VirtualClock(0);
  const engines = Array.from(
    { length: s.engines },
    (_, i) => new SimEngine({ model: 'llama-3-8b', gpu: 'H100', seed: i }, { clock }),
  );
  const rng = new Rng(1);
  const docs = Array.from({ length: 50 }, () => Int32Array.from({ length: 1024 }, () => rng.int(0, 128000)));
  const noise = Int32Array.from({ length: 1 << 20 }, () => rng.int(0, 128000));
  const horizonMs = s.horizonS * 1000;
  const meanGapMs = 1000 / (s.ratePerEngine * s.engines);
  let n = 0;
  let promptTokens = 0;
  let outputTokens = 0;
  const arrive = (): void => {
    clock.setTimer(rng.exponential(meanGapMs), () => {
      if (clock.now() > horizonMs) return;
      const doc = docs[rng.int(0, docs.length - 1)]!;
      const shared = rng.int(0, 1024);
      const fresh = rng.int(50, 600);
      const at = rng.int(0, noise.length - fresh);
      const prompt = new Int32Array(shared + fresh);
      prompt.set(doc.subarray(0, shared));
      prompt.set(noise.subarray(at, at + fresh), shared);
      promptTokens += prompt.length;
      engines[n % s.engines]!.submit(
        { id: `r${n++}`, promptTokenIds: prompt, maxTokens: 1024 },
        { onFinish: (f) => (outputTokens += f.outputTokens) },
      );
      arrive();
    });
  };
  arrive();
  const t0 = performance.now();
  clock.runAll();
  const wallMs = performance.now() - t0;
  let steps = 0;
  let hits = 0;
  let queries = 0;
  for (const e of engines) {
    const c = e.snapshot().counters;
    steps += c.steps;
    hits += c.prefixCacheHits;
    queries += c.prefixCacheQueries;
  }
  return { ...s, wallMs, requests: n, promptTokens, outputTokens, steps, prefixHitRate: hits / queries };
}

export const speedScenarios: SpeedScenario[] = [
  { name: 'moderate: 8 engines × 5 req/s, 1 h', engines: 8, ratePerEngine: 5, horizonS: 3600 },
  { name: 'heavy: 8 engines × 20 req/s, 1 h', engines: 8, ratePerEngine: 20, horizonS: 3600 },
];
