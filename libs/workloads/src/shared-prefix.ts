import { type LengthDistribution, meanLength, type Workload } from '@brix/cluster-sim';
import { resolveBase, type WorkloadBase } from './common';
import { checkGroups, groupPrefixes, type PrefixGroups, prefixGroupRequests } from './prefix-groups';

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
  const groups: PrefixGroups = {
    label: 'tenant',
    groups: o.tenants,
    prefixTokens: o.systemPromptTokens,
    zipf: o.zipf,
    suffixTokens: o.userTokens,
    outputTokens: o.outputTokens,
    idPrefix: 'sp',
  };
  checkGroups('shared-prefix', groups, 'tenants');
  return {
    name: `shared-prefix (${o.tenants} tenants)`,
    prefixes: () => groupPrefixes(base, groups).documents,
    requests: () => prefixGroupRequests(base, groups),
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
