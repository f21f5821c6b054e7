import {
  fillTokens,
  type LengthDistribution,
  PrefixPool,
  sampleLength,
  type SimRequest,
  tokenSeed,
  WorkloadError,
} from '@brix/cluster-sim';
import { nextArrival, type ResolvedBase, streams, withModel } from './common';

/** Requests that each start with one of `groups` shared prefixes and end with tokens of their own. */
export interface PrefixGroups {
  /** What a group is, for messages and request labels: "tenant", "db". */
  readonly label: string;
  readonly groups: number;
  /** Length of each group's prefix, drawn once per group. */
  readonly prefixTokens: LengthDistribution;
  /** Zipf exponent of group popularity; 0 = uniform. */
  readonly zipf: number;
  /** The request's own tokens after the prefix. */
  readonly suffixTokens: LengthDistribution;
  readonly outputTokens: LengthDistribution;
  /** Request ids are `<idPrefix><n>`. */
  readonly idPrefix: string;
}

export function checkGroups(workload: string, g: PrefixGroups, field: string): void {
  if (!(Number.isInteger(g.groups) && g.groups >= 1))
    throw new WorkloadError(`${workload} workload: ${field} must be an integer ≥ 1 (got ${g.groups})`);
}

/** The groups' prefixes, drawn from the content stream as the requests see them. */
export function groupPrefixes(base: ResolvedBase, g: PrefixGroups, content = streams(base).content): PrefixPool {
  return new PrefixPool(content.fork(), { documents: g.groups, tokens: g.prefixTokens, vocabSize: base.vocabSize, zipf: g.zipf });
}

/**
 * The requests, lazily: at each arrival a group by popularity, its prefix, then fresh suffix tokens; the request's
 * `user` is `<label>-<group>` so fairness policies and per-group breakdowns see the group.
 */
export function* prefixGroupRequests(base: ResolvedBase, g: PrefixGroups): Generator<SimRequest> {
  const { times, content } = streams(base);
  const pool = groupPrefixes(base, g, content);
  for (let n = 0; ; n++) {
    const t = nextArrival(base, times, n);
    if (t === null) return;
    const k = pool.pickIndex(content);
    const prefix = pool.documents[k]!;
    const own = Math.max(1, sampleLength(g.suffixTokens, content));
    const prompt = new Int32Array(prefix.length + own);
    prompt.set(prefix);
    fillTokens(prompt, prefix.length, prompt.length, tokenSeed(content), base.vocabSize);
    yield withModel(base, {
      id: `${g.idPrefix}${n}`,
      arrivalMs: t,
      promptTokenIds: prompt,
      outputTokens: Math.max(1, sampleLength(g.outputTokens, content)),
      user: `${g.label}-${k}`,
    });
  }
}
