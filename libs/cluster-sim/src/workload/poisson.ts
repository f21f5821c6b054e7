import Type, { type Static } from 'typebox';
import { Compile } from 'typebox/compile';
import Value from 'typebox/value';
import { Rng } from '@brix/clock';
import { WorkloadError } from '../errors';
import { LengthDistribution, lengthProblem, meanLength, sampleLength } from './lengths';
import { fillTokens, PrefixPool, TokenArena, tokenSeed } from './tokens';
import { type SimRequest, type Workload } from './workload';

/**
 * An open-loop workload: Poisson arrivals at a fixed rate; each prompt is (optionally) one of a pool of shared
 * documents followed by fresh tokens of its own, all drawn from a seeded vocabulary. The minimal generator for
 * tests and the live-vs-simulated agreement check; richer generators implement {@link Workload} the same way.
 */
export const PoissonWorkloadOptions = Type.Object({
  seed: Type.Integer({ default: 1 }),
  /** Mean arrivals per second (virtual time). */
  ratePerSec: Type.Number({ exclusiveMinimum: 0 }),
  /** Arrivals stop at startMs + durationMs. At least one of durationMs and count is required. */
  durationMs: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
  /** At most this many requests. */
  count: Type.Optional(Type.Integer({ minimum: 1 })),
  /** Time of the first possible arrival, ms. */
  startMs: Type.Number({ minimum: 0, default: 0 }),
  /** Served model name put on every request; unset: the simulation's default model. */
  model: Type.Optional(Type.String({ minLength: 1 })),
  /** Token ids are drawn from [0, vocabSize); 128000 ≈ Llama-3's vocabulary. */
  vocabSize: Type.Integer({ minimum: 2, maximum: 2_147_483_647, default: 128_000 }),
  /** Fresh tokens of each prompt (after its shared document, if any). A prompt is never empty. */
  uniqueTokens: LengthDistribution,
  /** Shared documents requests start with. */
  sharedPrefix: Type.Optional(
    Type.Object({
      documents: Type.Integer({ minimum: 1 }),
      /** Length of each document, drawn once per document. */
      tokens: LengthDistribution,
      /** Fraction of requests that start with a document, 0..1. */
      fraction: Type.Number({ minimum: 0, maximum: 1, default: 1 }),
      /** Zipf exponent of document popularity; 0 = uniform. */
      zipf: Type.Number({ minimum: 0, default: 0 }),
    }),
  ),
  /** Output length before EOS; unset: the engine's sampler decides. */
  outputTokens: Type.Optional(LengthDistribution),
  /** max_tokens sent with every request; unset: none (the engine's context limit applies). */
  maxTokens: Type.Optional(Type.Integer({ minimum: 1 })),
  /** Requests are charged to users `user-0` … `user-(n-1)`, uniformly; unset: no user. */
  users: Type.Optional(Type.Integer({ minimum: 1 })),
});
export type PoissonWorkloadOptions = Static<typeof PoissonWorkloadOptions>;
export type PoissonWorkloadInput = Partial<PoissonWorkloadOptions> & Pick<PoissonWorkloadOptions, 'ratePerSec' | 'uniqueTokens'>;

const check = Compile(PoissonWorkloadOptions);

function resolve(input: PoissonWorkloadInput): PoissonWorkloadOptions {
  const o = Value.Default(PoissonWorkloadOptions, structuredClone(input)) as PoissonWorkloadOptions;
  if (o.sharedPrefix)
    o.sharedPrefix = Value.Default(PoissonWorkloadOptions.properties.sharedPrefix, o.sharedPrefix) as typeof o.sharedPrefix;
  if (!check.Check(o)) {
    const first = [...check.Errors(o)][0];
    throw new WorkloadError(`poisson workload: ${first ? `${first.instancePath || '/'} ${first.message}` : 'schema mismatch'}`);
  }
  if (o.durationMs === undefined && o.count === undefined) throw new WorkloadError('poisson workload: set durationMs or count');
  const problems: Array<[string, LengthDistribution | undefined]> = [
    ['uniqueTokens', o.uniqueTokens],
    ['sharedPrefix/tokens', o.sharedPrefix?.tokens],
    ['outputTokens', o.outputTokens],
  ];
  for (const [name, d] of problems) {
    const problem = d === undefined ? null : lengthProblem(d);
    if (problem) throw new WorkloadError(`poisson workload: /${name} ${problem}`);
  }
  return o;
}

/** Mean prompt and output tokens of a Poisson workload (before clamping), for sizing an arrival rate to capacity. */
export function poissonWorkloadMeans(input: PoissonWorkloadInput): { promptTokens: number; outputTokens: number | null } {
  const o = resolve(input);
  const shared = o.sharedPrefix ? o.sharedPrefix.fraction * meanLength(o.sharedPrefix.tokens) : 0;
  return { promptTokens: shared + meanLength(o.uniqueTokens), outputTokens: o.outputTokens ? meanLength(o.outputTokens) : null };
}

/**
 * A seeded Poisson workload (see {@link PoissonWorkloadOptions}). The same options give the same requests:
 * arrivals, prompts (as token ids), output lengths and users all come from one Rng seeded with `seed`.
 * Requests are generated lazily as the simulation pulls them.
 */
export function poissonWorkload(input: PoissonWorkloadInput): Workload {
  const o = resolve(input);
  return {
    name: `poisson ${o.ratePerSec} req/s (seed ${o.seed})`,
    requests: () => generate(o),
  };
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

function* generate(o: PoissonWorkloadOptions): Generator<SimRequest> {
  const rng = new Rng(o.seed);
  // The document pool draws from its own stream, so changing it does not shift arrivals.
  const pool = o.sharedPrefix
    ? new PrefixPool(rng.fork(), {
        documents: o.sharedPrefix.documents,
        tokens: o.sharedPrefix.tokens,
        vocabSize: o.vocabSize,
        zipf: o.sharedPrefix.zipf,
      })
    : null;
  const arena = new TokenArena();
  const meanGapMs = 1000 / o.ratePerSec;
  const endMs = o.durationMs !== undefined ? o.startMs + o.durationMs : Infinity;
  const count = o.count ?? Infinity;
  let t = o.startMs;
  for (let n = 0; n < count; n++) {
    t += rng.exponential(meanGapMs);
    if (t >= endMs) return;
    const doc = pool && rng.next() < o.sharedPrefix!.fraction ? pool.documents[pool.pickIndex(rng)]! : null;
    const shared = doc?.length ?? 0;
    const fresh = Math.max(shared === 0 ? 1 : 0, sampleLength(o.uniqueTokens, rng));
    const prompt = arena.take(shared + fresh);
    if (doc) prompt.set(doc);
    fillTokens(prompt, shared, prompt.length, tokenSeed(rng), o.vocabSize);
    const outputTokens = o.outputTokens !== undefined ? Math.max(1, sampleLength(o.outputTokens, rng)) : undefined;
    const user = o.users !== undefined ? `user-${rng.int(0, o.users - 1)}` : undefined;
    // Optional fields only when set, in this order (one request per arrival: no spread of a temporary per field).
    const request: Mutable<SimRequest> = { id: `r${n}`, arrivalMs: t, promptTokenIds: prompt };
    if (o.model !== undefined) request.model = o.model;
    if (outputTokens !== undefined) request.outputTokens = outputTokens;
    if (o.maxTokens !== undefined) request.maxTokens = o.maxTokens;
    if (user !== undefined) request.user = user;
    yield request;
  }
}
