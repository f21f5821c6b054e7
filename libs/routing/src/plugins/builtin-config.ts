import { type RoutingConfigInput } from '../framework/config';

/** Strategies selectable by the `routing-strategy` header: AIBrix's names first, then Brix's own. */
export const BUILTIN_STRATEGIES = [
  'random',
  'least-request',
  'throughput',
  'least-kv-cache',
  'least-gpu-cache',
  'least-latency',
  'least-busy-time',
  'power-of-two',
  'prefix-cache',
  'session-affinity',
  'vtc-basic',
  'lora-affinity',
  'sticky-until-saturated',
] as const;
export type BuiltinStrategy = (typeof BUILTIN_STRATEGIES)[number];

const scorerStrategies = BUILTIN_STRATEGIES.filter((s) => s !== 'lora-affinity');

/**
 * The built-in plugin instances (one per type, named after it, default params) and one profile per
 * strategy. `createRouter` merges a user config over this by instance and profile name.
 */
export const builtinRoutingConfig = {
  defaultStrategy: 'least-request',
  plugins: {
    ...Object.fromEntries(scorerStrategies.map((s) => [s, { type: s }])),
    'lora-affinity': { type: 'lora-affinity' },
    'max-score': { type: 'max-score' },
    'weighted-random': { type: 'weighted-random' },
  },
  profiles: {
    ...Object.fromEntries(scorerStrategies.map((s) => [s, { scorers: [{ plugin: s, weight: 1 }] }])),
    // Adapter tiers first, then the least loaded within the tier.
    'lora-affinity': { filters: ['lora-affinity'], scorers: [{ plugin: 'least-request', weight: 1 }] },
  },
} satisfies RoutingConfigInput;

/** `override` on top of `base`: plugin instances and profiles replace same-named ones; the default is overridden when set. */
export function mergeRoutingConfig(base: RoutingConfigInput, override: RoutingConfigInput = {}): RoutingConfigInput {
  return {
    defaultStrategy: override.defaultStrategy ?? base.defaultStrategy,
    plugins: { ...base.plugins, ...override.plugins },
    profiles: { ...base.profiles, ...override.profiles },
  };
}
