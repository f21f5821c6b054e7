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
 * Multi-tenant traffic with long shared system prompts (the shape Preble studies): `tenants` applications each have
 * one system prompt (few-shot examples, tool descriptions, instructions) that every request of the tenant starts
 * with, followed by a short user part of its own. Tenant popularity is uniform or Zipf-skewed. The prefix working
 * set is tenants × mean system-prompt length; whether it fits one engine's KV cache decides whether cache-aware
 * routing can help (see docs/benchmarks/routing.md).
 */
export interface SharedPrefixOptions extends WorkloadBase {
  /** Number of tenants (distinct system prompts). Default 64. */
  readonly tenants?: number;
  /** Length of each tenant's system prompt, drawn once per tenant. Default uniform 1,500–2,500 tokens. */
  readonly systemPromptTokens?: LengthDistribution;
  /** Zipf exponent of tenant popularity; 0 = uniform (default). */
  readonly zipf?: number;
  /** The request's own part after the system prompt. Default log-normal median 80, σ 0.6 (mean ≈ 96), max 1,000. */
  readonly userTokens?: LengthDistribution;
  /** Output length. Default log-normal median 100, σ 0.6 (mean ≈ 120), max 1,024. */
  readonly outputTokens?: LengthDistribution;
}

export const sharedPrefixDefaults = {
  tenants: 64,
  systemPromptTokens: { kind: 'uniform', min: 1500, max: 2500 },
  zipf: 0,
  userTokens: { kind: 'log-normal', median: 80, sigma: 0.6, min: 1, max: 1000 },
  outputTokens: { kind: 'log-normal', median: 100, sigma: 0.6, min: 1, max: 1024 },
} as const satisfies Required<Omit<SharedPrefixOptions, keyof WorkloadBase>>;

/** Requests carry `user: tenant-<k>`, so fairness policies and per-tenant breakdowns see the tenant. */
export function sharedPrefixWorkload(input: SharedPrefixOptions): Workload & { readonly prefixes: () => readonly Int32Array[] } {
  const o = { ...sharedPrefixDefaults, ...input };
  const base = resolveBase('shared-prefix', o, {
    systemPromptTokens: o.systemPromptTokens,
    userTokens: o.userTokens,
    outputTokens: o.outputTokens,
  });
  if (!(Number.isInteger(o.tenants) && o.tenants >= 1))
    throw new WorkloadError(`shared-prefix workload: tenants must be an integer ≥ 1 (got ${o.tenants})`);
  const pool = (content: ReturnType<typeof streams>['content']) =>
    new PrefixPool(content.fork(), {
      documents: o.tenants,
      tokens: o.systemPromptTokens,
      vocabSize: base.vocabSize,
      zipf: o.zipf,
    });
  return {
    name: `shared-prefix (${o.tenants} tenants)`,
    prefixes: () => pool(streams(base).content).documents,
    *requests(): Generator<SimRequest> {
      const { times, content } = streams(base);
      const tenants = pool(content);
      for (let n = 0; ; n++) {
        const t = nextArrival(base, times, n);
        if (t === null) return;
        const k = tenants.pickIndex(content);
        const doc = tenants.documents[k]!;
        const own = Math.max(1, sampleLength(o.userTokens, content));
        const prompt = new Int32Array(doc.length + own);
        prompt.set(doc);
        fillTokens(prompt, doc.length, prompt.length, tokenSeed(content), base.vocabSize);
        yield withModel(base, {
          id: `sp${n}`,
          arrivalMs: t,
          promptTokenIds: prompt,
          outputTokens: Math.max(1, sampleLength(o.outputTokens, content)),
          user: `tenant-${k}`,
        });
      }
    },
  };
}

/** Mean prompt and output tokens per request (before clamping). */
export function sharedPrefixMeans(input: Partial<SharedPrefixOptions> = {}): { promptTokens: number; outputTokens: number } {
  const o = { ...sharedPrefixDefaults, ...input };
  return {
    promptTokens: meanLength(o.systemPromptTokens) + meanLength(o.userTokens),
    outputTokens: meanLength(o.outputTokens),
  };
}
