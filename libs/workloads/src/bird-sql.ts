import { type LengthDistribution, meanLength, type Workload } from '@brix/cluster-sim';
import { resolveBase, type WorkloadBase } from './common';
import { checkGroups, type PrefixGroups, prefixGroupRequests } from './prefix-groups';

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
  const groups: PrefixGroups = {
    label: 'db',
    groups: o.databases,
    prefixTokens: o.schemaTokens,
    zipf: o.zipf,
    suffixTokens: o.questionTokens,
    outputTokens: o.outputTokens,
    idPrefix: 'bs',
  };
  checkGroups('bird-sql', groups, 'databases');
  return { name: `bird-sql (${o.databases} schemas)`, requests: () => prefixGroupRequests(base, groups) };
}

export function birdSqlMeans(input: Partial<BirdSqlOptions> = {}): { promptTokens: number; outputTokens: number } {
  const o = { ...birdSqlDefaults, ...input };
  return { promptTokens: meanLength(o.schemaTokens) + meanLength(o.questionTokens), outputTokens: meanLength(o.outputTokens) };
}
