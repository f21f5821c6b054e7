import {
  fillTokens,
  type LengthDistribution,
  meanLength,
  PrefixPool,
  sampleLength,
  type SimRequest,
  tokenSeed,
  type Workload,
  WorkloadError,
} from '@brix/cluster-sim';
import { nextArrival, resolveBase, streams, type WorkloadBase, withModel } from './common';

/**
 * Bird-SQL-like text-to-SQL traffic: a few long database-schema prefixes (CREATE TABLE statements, column
 * descriptions, sample rows) and many short natural-language questions against them, answered with short SQL.
 * BIRD's dev split has 11 databases, hence the default. Lengths are our chosen shapes, not measured on the dataset
 * (nothing is downloaded): schema 1,500–3,500 tokens, question log-normal median 40 (mean ≈ 45), SQL median 60
 * (mean ≈ 68). All schemas together (≈ 27k tokens) fit one engine's KV cache on most GPUs — the contrast to
 * {@link sharedPrefixWorkload}, whose working set does not.
 */
export interface BirdSqlOptions extends WorkloadBase {
  readonly databases?: number;
  readonly schemaTokens?: LengthDistribution;
  /** Zipf exponent of database popularity. Default 0.8: a few databases get most questions. */
  readonly zipf?: number;
  readonly questionTokens?: LengthDistribution;
  readonly outputTokens?: LengthDistribution;
}

export const birdSqlDefaults = {
  databases: 11,
  schemaTokens: { kind: 'uniform', min: 1500, max: 3500 },
  zipf: 0.8,
  questionTokens: { kind: 'log-normal', median: 40, sigma: 0.5, min: 5, max: 300 },
  outputTokens: { kind: 'log-normal', median: 60, sigma: 0.5, min: 5, max: 400 },
} as const satisfies Required<Omit<BirdSqlOptions, keyof WorkloadBase>>;

export function birdSqlWorkload(input: BirdSqlOptions): Workload {
  const o = { ...birdSqlDefaults, ...input };
  const base = resolveBase('bird-sql', o, {
    schemaTokens: o.schemaTokens,
    questionTokens: o.questionTokens,
    outputTokens: o.outputTokens,
  });
  if (!(Number.isInteger(o.databases) && o.databases >= 1))
    throw new WorkloadError(`bird-sql workload: databases must be an integer ≥ 1 (got ${o.databases})`);
  return {
    name: `bird-sql (${o.databases} schemas)`,
    *requests(): Generator<SimRequest> {
      const { times, content } = streams(base);
      const schemas = new PrefixPool(content.fork(), {
        documents: o.databases,
        tokens: o.schemaTokens,
        vocabSize: base.vocabSize,
        zipf: o.zipf,
      });
      for (let n = 0; ; n++) {
        const t = nextArrival(base, times, n);
        if (t === null) return;
        const k = schemas.pickIndex(content);
        const schema = schemas.documents[k]!;
        const q = Math.max(1, sampleLength(o.questionTokens, content));
        const prompt = new Int32Array(schema.length + q);
        prompt.set(schema);
        fillTokens(prompt, schema.length, prompt.length, tokenSeed(content), base.vocabSize);
        yield withModel(base, {
          id: `bs${n}`,
          arrivalMs: t,
          promptTokenIds: prompt,
          outputTokens: Math.max(1, sampleLength(o.outputTokens, content)),
          user: `db-${k}`,
        });
      }
    },
  };
}

export function birdSqlMeans(input: Partial<BirdSqlOptions> = {}): { promptTokens: number; outputTokens: number } {
  const o = { ...birdSqlDefaults, ...input };
  return { promptTokens: meanLength(o.schemaTokens) + meanLength(o.questionTokens), outputTokens: meanLength(o.outputTokens) };
}
