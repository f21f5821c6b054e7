import Type, { type Static } from 'typebox';

/** Instance and strategy names: kebab-case, so they fit a header value and never contain `:` or `,`. */
export const RoutingName = Type.String({ pattern: '^[a-z][a-z0-9]*(-[a-z0-9]+)*$', maxLength: 63 });

/** One plugin instance: which registered type, with which parameters (validated by the type's schema). */
export const PluginInstanceConfig = Type.Object(
  {
    type: RoutingName,
    params: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  { additionalProperties: false },
);
export type PluginInstanceConfig = Static<typeof PluginInstanceConfig>;

export const WeightedScorerConfig = Type.Object(
  {
    /** Instance name of a scorer. */
    plugin: RoutingName,
    /** Relative weight; the profile's score is the weight-averaged sum of its scorers. */
    weight: Type.Number({ minimum: 0, default: 1 }),
  },
  { additionalProperties: false },
);
export type WeightedScorerConfig = Static<typeof WeightedScorerConfig>;

/** A profile = a strategy: filters, then weighted scorers, then one picker (instance names). */
export const ProfileConfig = Type.Object(
  {
    filters: Type.Array(RoutingName, { default: [] }),
    scorers: Type.Array(WeightedScorerConfig, { default: [] }),
    /** Defaults to `max-score`. */
    picker: Type.Optional(RoutingName),
  },
  { additionalProperties: false },
);
export type ProfileConfig = Static<typeof ProfileConfig>;

/**
 * Routing configuration. The built-in plugin instances and strategies (see `builtinRoutingConfig`) are
 * always present; entries here add to them or replace them by name, so tuning one built-in needs one line:
 * `{"plugins": {"prefix-cache": {"type": "prefix-cache", "params": {"maxBlocks": 50000}}}}`.
 */
export const RoutingConfig = Type.Object(
  {
    /** Strategy used when a request names none: a profile name or a weighted combination. */
    defaultStrategy: Type.String({ default: 'least-request', minLength: 1 }),
    plugins: Type.Record(Type.String(), PluginInstanceConfig, { default: {} }),
    profiles: Type.Record(Type.String(), ProfileConfig, { default: {} }),
  },
  { additionalProperties: false },
);
export type RoutingConfig = Static<typeof RoutingConfig>;

/** What callers may pass: every field optional. */
export type RoutingConfigInput = {
  defaultStrategy?: string;
  plugins?: Record<string, PluginInstanceConfig>;
  profiles?: Record<string, { filters?: string[]; scorers?: Array<{ plugin: string; weight?: number }>; picker?: string }>;
};

/** The first validation error in words: typebox reports an unexpected property as "schema is false". */
export function describeSchemaError(errors: ReadonlyArray<{ instancePath: string; message: string }>): {
  path: string;
  message: string;
} {
  const first = errors[0];
  if (!first) return { path: '', message: 'is invalid' };
  return { path: first.instancePath, message: first.message === 'schema is false' ? 'is not a known field' : first.message };
}
