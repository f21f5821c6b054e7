// Builders shared by the cluster-sim specs; left out of the library build (tsconfig.lib.json).
import { createRouter } from '@brix/routing';
import { type ClusterSimConfigInput, type SimEngineSpec } from './config';
import { type RoutingPolicy, routerPolicy } from './policy';
import { type PoissonWorkloadInput } from './workload/poisson';

/** `n` Llama-3-8B engines on `gpu`, with a short context so their block pools stay small. */
export function engines(n: number, gpu = 'H100', extra: Partial<SimEngineSpec> = {}): SimEngineSpec[] {
  return Array.from({ length: n }, () => ({ model: 'llama-3-8b', gpu, maxModelLen: 4096, ...extra }));
}

export function cluster(n: number, extra: Partial<ClusterSimConfigInput> = {}): ClusterSimConfigInput {
  return { engines: engines(n), ...extra };
}

/**
 * A minute of chat-like traffic: 70% of prompts start with one of 8 shared 512-token documents, plus 50–400 fresh
 * tokens; outputs log-normal around 100 tokens (at most 400).
 */
export function chat(ratePerSec: number, extra: Partial<PoissonWorkloadInput> = {}): PoissonWorkloadInput {
  return {
    seed: 3,
    ratePerSec,
    durationMs: 60_000,
    uniqueTokens: { kind: 'uniform', min: 50, max: 400 },
    sharedPrefix: { documents: 8, tokens: 512, fraction: 0.7, zipf: 0 },
    outputTokens: { kind: 'log-normal', median: 100, sigma: 0.6, max: 400 },
    ...extra,
  };
}

/** The gateway's real Router with every built-in strategy, `strategy` as the default. */
export function router(strategy: string): RoutingPolicy {
  return routerPolicy(createRouter(), { strategy });
}
