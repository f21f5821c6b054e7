import Type, { type Static } from 'typebox';
import { Compile } from 'typebox/compile';
import Value from 'typebox/value';
import { EngineConfig } from '@brix/engine-model';
import { ClusterSimConfigError } from './errors';

/**
 * One simulated engine: an engine-model configuration (vLLM's engine arguments: model, GPU, limits) plus what the
 * gateway's engine directory knows about it. Unlike the engine model's own default, `frontendLatencyMs`
 * defaults to 20 ms here, the value engine-sim runs with (measured for vLLM's V1 API server in
 * docs/benchmarks/engine-calibration.md), so simulated and live TTFT agree.
 */
export const SimEngineSpec = Type.Object({
  ...EngineConfig.properties,
  /** Engine-side frontend time, ms; default: the cluster's `defaultFrontendLatencyMs` (20). */
  frontendLatencyMs: Type.Optional(Type.Number({ minimum: 0 })),
  /** Seeds the engine's sampled output lengths and token ids; default: derived from the cluster seed and the engine's index. */
  seed: Type.Optional(Type.Integer()),
  /** Engine (pod) id; default `engine-<index>` in the order engines were added. */
  id: Type.Optional(Type.String({ minLength: 1 })),
  /**
   * Relative serving capacity as the gateway's `capacityByGpu` table would give it (1 = reference engine).
   * Default: `capacityByGpu[gpu]` of the cluster config, else 1, as the gateway does for unknown GPU types.
   */
  capacity: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
  /** Virtual ms from being added until the directory reports it ready (a pod's start-up). Default 0. */
  startupMs: Type.Optional(Type.Number({ minimum: 0 })),
});
export type SimEngineSpec = Static<typeof SimEngineSpec>;

/**
 * A cluster simulation's settings. Every field but `engines` has a default chosen to match the live
 * gateway's defaults (`libs/gateway-core/src/config.ts`) so the routing code sees what it would see live.
 */
export const ClusterSimConfig = Type.Object({
  engines: Type.Array(SimEngineSpec),
  /** Seeds the routing context's Rng, the load-report phases, and default per-engine seeds. */
  seed: Type.Integer({ default: 1 }),
  /**
   * How often each engine's load (running, waiting, KV usage, token rates, TTFT/ITL means) reaches the
   * gateway, ms. The live system scrapes every 50–100 ms; routers see the numbers of the latest report,
   * while their own in-flight counts are exact.
   */
  loadReportIntervalMs: Type.Number({ exclusiveMinimum: 0, default: 100 }),
  /**
   * Spread the engines' reports over the interval with seeded phases (scrapes of different engines are not
   * synchronised live). False: every engine reports at the same instants.
   */
  staggerLoadReports: Type.Boolean({ default: true }),
  /** Load state older than this counts as stale (saturated for routing), ms: the gateway's BRIX_STATE_STALE_MS. */
  staleAfterMs: Type.Number({ exclusiveMinimum: 0, default: 1000 }),
  /** One-way gateway ↔ engine network time, ms, added on the way in and on the way out. */
  networkLatencyMs: Type.Number({ minimum: 0, default: 0 }),
  /** Output tokens the router expects when a request sets no max_tokens: the gateway's BRIX_DEFAULT_MAX_TOKENS. */
  defaultMaxTokens: Type.Integer({ minimum: 1, default: 256 }),
  /**
   * Tokens per prefix block in `RoutingRequest.prefixHashes`. 32 tokens ≈ the gateway's 128-byte blocks at
   * ≈4 bytes per token (ADR 0003); set it to the engines' KV block size (16) to get the engines' own block hashes.
   */
  prefixBlockTokens: Type.Integer({ minimum: 1, default: 32 }),
  /** Relative capacity by GPU id, as the gateway's `gpuCapacity` table. */
  capacityByGpu: Type.Record(Type.String(), Type.Number({ exclusiveMinimum: 0 }), { default: {} }),
  /** Engine-side frontend time for engines that do not set `frontendLatencyMs` (see {@link SimEngineSpec}). */
  defaultFrontendLatencyMs: Type.Number({ minimum: 0, default: 20 }),
  /** Keep one record per request in the report (false saves memory on long runs; aggregates are kept either way). */
  recordRequests: Type.Boolean({ default: true }),
});
export type ClusterSimConfig = Static<typeof ClusterSimConfig>;

/** What callers pass: every field with a default may be left out. */
export type ClusterSimConfigInput = Partial<ClusterSimConfig> & Pick<ClusterSimConfig, 'engines'>;

const check = Compile(ClusterSimConfig);

/** Applies defaults and validates; throws {@link ClusterSimConfigError} naming the first bad field. */
export function resolveClusterSimConfig(input: ClusterSimConfigInput): ClusterSimConfig {
  // Engine specs are left as given: the engine model applies vLLM's defaults itself (the schema's `default`
  // annotations would otherwise pin fields such as enableLora that the engine derives from others).
  const { engines, ...rest } = structuredClone(input);
  const config = { ...(Value.Default(ClusterSimConfig, { ...rest, engines: [] }) as ClusterSimConfig), engines };
  if (!check.Check(config)) {
    const first = [...check.Errors(config)][0];
    throw new ClusterSimConfigError(first ? `${first.instancePath || '/'} ${first.message}` : 'schema mismatch');
  }
  const ids = new Set<string>();
  for (const e of config.engines) {
    if (e.id === undefined) continue;
    if (ids.has(e.id)) throw new ClusterSimConfigError(`/engines: engine id "${e.id}" appears twice`);
    ids.add(e.id);
  }
  return config;
}
