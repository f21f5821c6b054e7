import { Rng } from '@brix/clock';
import { type LengthDistribution, lengthProblem, type SimRequest, WorkloadError } from '@brix/cluster-sim';
import { type ArrivalProcess, arrivalProblem, arrivalTimes } from './arrivals';

/** Options every generator takes. */
export interface WorkloadBase {
  /** Everything (arrivals, prompts, lengths) comes from this seed. */
  readonly seed?: number;
  readonly arrivals: ArrivalProcess;
  /** Arrivals stop at startMs + durationMs. At least one of durationMs and count is required. */
  readonly durationMs?: number;
  /** At most this many arrivals. */
  readonly count?: number;
  readonly startMs?: number;
  /** Served model name on every request; unset: the simulation's default model. */
  readonly model?: string;
  /** Token ids are drawn from [0, vocabSize); default 128000 ≈ Llama-3's vocabulary. */
  readonly vocabSize?: number;
}

export interface ResolvedBase {
  seed: number;
  arrivals: ArrivalProcess;
  endMs: number;
  count: number;
  startMs: number;
  model: string | undefined;
  vocabSize: number;
}

export function resolveBase(
  kind: string,
  o: WorkloadBase,
  lengths: Record<string, LengthDistribution | undefined>,
): ResolvedBase {
  const fail = (message: string): never => {
    throw new WorkloadError(`${kind} workload: ${message}`);
  };
  if (o.durationMs === undefined && o.count === undefined) fail('set durationMs or count');
  if (o.durationMs !== undefined && !(o.durationMs > 0)) fail(`durationMs must be positive (got ${o.durationMs})`);
  if (o.count !== undefined && !(Number.isInteger(o.count) && o.count >= 1))
    fail(`count must be an integer ≥ 1 (got ${o.count})`);
  const vocabSize = o.vocabSize ?? 128_000;
  if (!(Number.isInteger(vocabSize) && vocabSize >= 2)) fail(`vocabSize must be an integer ≥ 2 (got ${vocabSize})`);
  const problem = arrivalProblem(o.arrivals);
  if (problem) fail(`arrivals: ${problem}`);
  for (const [name, d] of Object.entries(lengths)) {
    const p = d === undefined ? null : lengthProblem(d);
    if (p) fail(`${name}: ${p}`);
  }
  const startMs = o.startMs ?? 0;
  return {
    seed: o.seed ?? 1,
    arrivals: o.arrivals,
    endMs: o.durationMs !== undefined ? startMs + o.durationMs : Infinity,
    count: o.count ?? Infinity,
    startMs,
    model: o.model,
    vocabSize,
  };
}

/**
 * The two independent streams of a generator: arrival times, and content (prompts, lengths). Changing the arrival
 * process (its rate, its shape) therefore leaves the sequence of prompts unchanged, so runs at different loads
 * replay the same requests.
 */
export function streams(o: ResolvedBase): { times: Iterator<number>; content: Rng } {
  const root = new Rng(o.seed);
  const timeRng = root.fork();
  const content = root.fork();
  return { times: arrivalTimes(o.arrivals, timeRng, o.startMs), content };
}

/** Next arrival time, or null once the window or the count is exhausted. */
export function nextArrival(o: ResolvedBase, times: Iterator<number>, n: number): number | null {
  if (n >= o.count) return null;
  const t = times.next().value as number;
  return t < o.endMs ? t : null;
}

export function withModel(o: ResolvedBase, r: SimRequest): SimRequest {
  return o.model !== undefined ? { ...r, model: o.model } : r;
}
