import { resolveEngineConfig } from '@brix/engine-model';
import { sharedPrefixDefaults, type WorkloadKind, type WorkloadSpec } from '@brix/workloads';

/** What a routing benchmark run compares, in either mode. */
export interface Plan {
  engines: number;
  model: string;
  gpu: string;
  seed: number;
  /** Seconds of arrivals per run (simulated or wall-clock). */
  durationS: number;
  /** Requests arriving in the first warmupS seconds are not measured. */
  warmupS: number;
  /** Offered load as a fraction of the capacity measured with least-request. */
  load: number;
  workloads: WorkloadKind[];
  strategies: string[];
  /** Strategies given explicitly: no workload-specific ones are added. */
  explicitStrategies: boolean;
}

export const DEFAULT_STRATEGIES = [
  'random',
  'least-request',
  'throughput',
  'prefix-cache',
  'prefix-cache:2,least-request:1',
  'sticky-until-saturated',
] as const;

/** Strategies that only make sense on some workloads, added to the list there. */
export const EXTRA_STRATEGIES: Partial<Record<WorkloadKind, readonly string[]>> = { 'multi-turn': ['session-affinity'] };

/** KV-cache tokens one engine holds (vLLM's profiled block count × block size, as the engine model derives it). */
export function kvTokensPerEngine(model: string, gpu: string, blocksOverride?: number): number {
  const c = resolveEngineConfig({
    model,
    gpu,
    ...(blocksOverride !== undefined ? { numGpuBlocksOverride: blocksOverride } : {}),
  });
  return c.numGpuBlocks * c.blockSize;
}

/**
 * The shared-prefix workload sized to the cluster: enough tenants that their system prompts together are
 * `min(4, engines / 2)` times one engine's KV cache. Every engine that sees every tenant (load-only routing) then
 * holds at most a quarter (with 8+ engines) of the working set, while the working set split across all engines
 * takes at most half of each engine's cache, so cache-aware routing can keep every tenant's prompt resident.
 */
export function sharedPrefixTenants(engines: number, kvTokens: number): { tenants: number; factor: number } {
  const sp = sharedPrefixDefaults.systemPromptTokens;
  const meanPrompt = (sp.min + sp.max) / 2;
  const factor = Math.min(4, engines / 2);
  return { tenants: Math.max(2, Math.round((factor * kvTokens) / meanPrompt)), factor };
}

export function workloadSpec(kind: WorkloadKind, engines: number, kvTokens: number): WorkloadSpec {
  switch (kind) {
    case 'shared-prefix':
      return { kind, options: { tenants: sharedPrefixTenants(engines, kvTokens).tenants } };
    case 'multi-turn':
      return { kind };
    case 'sharegpt':
      return { kind };
    case 'bird-sql':
      return { kind };
  }
}

/** `a,b:2+c:1` → ['a', 'b:2,c:1']: a weighted combination is written with `+` on the command line. */
export function parseStrategies(list: string): string[] {
  return list
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => s.replaceAll('+', ','));
}

export function strategiesFor(kind: WorkloadKind, strategies: readonly string[], explicit: boolean): string[] {
  return explicit ? [...strategies] : [...strategies, ...(EXTRA_STRATEGIES[kind] ?? [])];
}
