import { Compile } from 'typebox/compile';
import Value from 'typebox/value';
import { type EngineView, type RoutingContext, type RoutingRequest } from '../types';
import { describeSchemaError, ProfileConfig, RoutingConfig, type RoutingConfigInput } from './config';
import { NoEngineAvailableError, RoutingConfigError, RoutingPluginError, UnknownRoutingStrategyError } from './errors';
import {
  type FeedbackHooks,
  type Filter,
  type Picker,
  type Plugin,
  type PluginEnv,
  type PluginKind,
  type PluginOfKind,
  type RequestOutcome,
  type Scorer,
} from './plugin';
import { type Registry } from './registry';
import { parseStrategy } from './strategy';

/** Stages of one decision, as reported in timings. `record` is the onRouted feedback after the pick. */
export const RoutingStage = { filter: 'filter', scorer: 'scorer', picker: 'picker', record: 'record' } as const;
export type RoutingStage = (typeof RoutingStage)[keyof typeof RoutingStage];

export interface StageTiming {
  readonly stage: RoutingStage;
  /** Plugin instance name (or shared-state key for `record`). */
  readonly plugin: string;
  /** Milliseconds, from the injected timer. */
  readonly ms: number;
}

export interface RoutingDecision {
  readonly engine: EngineView;
  /** Canonical strategy name (`least-request`, `prefix-cache:2,least-request:1`). */
  readonly strategy: string;
  /** Why this engine, in a few words (for logs and the `x-brix-routing-reason` header). */
  readonly reason: string;
  /** The chosen engine's combined score, in [0, 1]. */
  readonly score: number;
  /** Candidates left after the filters. */
  readonly candidates: number;
  /** Per-stage times; empty when the Router has no timer. */
  readonly timings: readonly StageTiming[];
}

export interface RouterOptions {
  /** Plugin types the configuration may instantiate. */
  readonly registry: Registry;
  /** Plugin instances and profiles. Used as given: `createRouter` adds the built-in strategies. */
  readonly config?: RoutingConfigInput;
  /**
   * A high-resolution clock in milliseconds (e.g. `performance.now`) used only to time stages for
   * metrics. Without it decisions carry no timings and cost nothing extra.
   */
  readonly timer?: () => number;
}

/** Instance name of the picker used when a profile names none, and by every weighted combination. */
export const DEFAULT_PICKER = 'max-score';

interface WeightedScorer {
  readonly scorer: Scorer;
  readonly weight: number;
}

/** One strategy's contribution: a weighted average of its scorers. */
interface Term {
  readonly weight: number;
  readonly scorers: readonly WeightedScorer[];
  readonly scorerWeight: number;
}

interface CompiledStrategy {
  readonly name: string;
  readonly filters: readonly Filter[];
  readonly terms: readonly Term[];
  readonly picker: Picker;
  /** Min–max normalise each term before weighting (weighted combinations of strategies). */
  readonly normalize: boolean;
}

interface HookTarget {
  readonly name: string;
  readonly hooks: FeedbackHooks;
}

const NO_TIMINGS: readonly StageTiming[] = Object.freeze([]);
const MAX_CACHED_EXPRESSIONS = 256;
const validateConfig = Compile(RoutingConfig);

/**
 * Runs routing profiles: eligible engines (ready, same model) → filters → weighted scorers → picker,
 * then feeds the decision back to every stateful plugin. One Router per gateway (or simulation); it owns
 * the plugin instances and their learned state. Not safe for concurrent use from several threads, which
 * JavaScript never does.
 */
export class Router {
  /** Profile names a request may ask for, sorted. */
  readonly strategies: readonly string[];
  /** Canonical name of the strategy used when a request names none. */
  readonly defaultStrategy: string;

  private readonly timer: (() => number) | undefined;
  private readonly instances = new Map<string, Plugin>();
  private readonly shared = new Map<string, object>();
  private readonly profiles = new Map<string, CompiledStrategy>();
  private readonly profileNames: ReadonlySet<string>;
  private readonly expressions = new Map<string, CompiledStrategy>();
  private readonly hookTargets: HookTarget[] = [];
  private readonly defaultCompiled: CompiledStrategy;
  /** Per-decision score buffers, reused while the candidate count stays the same (one decision runs at a time). */
  private combined = new Float64Array(0);
  private termScores = new Float64Array(0);

  constructor(options: RouterOptions) {
    this.timer = options.timer;
    const config = Value.Default(RoutingConfig, structuredClone(options.config ?? {})) as RoutingConfig;
    // Value.Default does not descend into Record values: default each profile on its own.
    if (config.profiles && typeof config.profiles === 'object') {
      for (const [name, profile] of Object.entries(config.profiles))
        config.profiles[name] = Value.Default(ProfileConfig, profile) as ProfileConfig;
    }
    if (!validateConfig.Check(config)) {
      const error = describeSchemaError(validateConfig.Errors(config));
      throw new RoutingConfigError(error.path || '/', error.message);
    }

    for (const [name, instance] of Object.entries(config.plugins)) {
      const env: PluginEnv = { name, shared: (key, make) => this.sharedState(key, make) };
      this.instances.set(name, options.registry.instantiate(instance.type, instance.params, env, `plugins.${name}`));
    }
    for (const [name, plugin] of this.instances) {
      if (plugin.onRouted || plugin.onCompleted || plugin.onEngineRemoved) this.hookTargets.push({ name, hooks: plugin });
    }

    for (const [name, profile] of Object.entries(config.profiles)) {
      if (!/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/.test(name))
        throw new RoutingConfigError(`profiles.${name}`, 'a profile name must be kebab-case');
      const scorers = profile.scorers.map((s, i) => ({
        scorer: this.instance(s.plugin, 'scorer', `profiles.${name}.scorers.${i}`),
        weight: s.weight,
      }));
      this.profiles.set(name, {
        name,
        filters: profile.filters.map((f, i) => this.instance(f, 'filter', `profiles.${name}.filters.${i}`)),
        terms: [{ weight: 1, scorers, scorerWeight: scorers.reduce((sum, s) => sum + s.weight, 0) }],
        picker: this.instance(profile.picker ?? DEFAULT_PICKER, 'picker', `profiles.${name}.picker`),
        normalize: false,
      });
    }
    this.profileNames = new Set(this.profiles.keys());
    this.strategies = [...this.profileNames].sort();
    if (this.strategies.length === 0) throw new RoutingConfigError('profiles', 'at least one profile is required');

    try {
      this.defaultCompiled = this.compile(config.defaultStrategy);
    } catch (err) {
      if (err instanceof UnknownRoutingStrategyError) throw new RoutingConfigError('defaultStrategy', err.message);
      throw err;
    }
    this.defaultStrategy = this.defaultCompiled.name;
  }

  /**
   * Validates a strategy expression without routing (the gateway can answer 400 before any work).
   * Returns its canonical name; undefined or blank means the default. Throws UnknownRoutingStrategyError.
   */
  resolveStrategy(strategy?: string): string {
    return this.strategyFor(strategy).name;
  }

  /**
   * Chooses an engine for `request` among `engines` and records the choice with every stateful plugin.
   * Throws UnknownRoutingStrategyError (400) for a bad strategy and NoEngineAvailableError (503) when no
   * ready engine of the request's model survives the filters.
   */
  route(request: RoutingRequest, engines: readonly EngineView[], ctx: RoutingContext, strategy?: string): RoutingDecision {
    const compiled = this.strategyFor(strategy);
    const timer = this.timer;
    const timings: StageTiming[] | undefined = timer ? [] : undefined;

    let candidates: readonly EngineView[] = engines.every((e) => e.ready !== false && e.model === request.model)
      ? engines
      : engines.filter((e) => e.ready !== false && e.model === request.model);
    if (candidates.length === 0) throw new NoEngineAvailableError(request.model);

    for (const filter of compiled.filters) {
      const t0 = timer?.();
      const kept = filter.filter(request, candidates, ctx);
      if (timings) timings.push({ stage: 'filter', plugin: filter.name, ms: timer!() - t0! });
      if (kept !== candidates) {
        const allowed = new Set(candidates);
        for (const e of kept)
          if (!allowed.has(e)) throw new RoutingPluginError(filter.name, `returned engine \`${e.id}\` that was not a candidate`);
      }
      if (kept.length === 0) {
        throw new NoEngineAvailableError(
          request.model,
          `No engine of model \`${request.model}\` passed routing filter \`${filter.name}\`.`,
        );
      }
      candidates = kept;
    }

    const n = candidates.length;
    if (this.combined.length !== n) {
      this.combined = new Float64Array(n);
      this.termScores = new Float64Array(n);
    }
    const combined = this.combined.fill(0);
    const termScores = this.termScores;
    let termWeight = 0;
    for (const term of compiled.terms) {
      termScores.fill(0);
      for (const { scorer, weight } of term.scorers) {
        const t0 = timer?.();
        const scores = scorer.score(request, candidates, ctx);
        if (timings) timings.push({ stage: 'scorer', plugin: scorer.name, ms: timer!() - t0! });
        checkScores(scorer, scores, candidates);
        if (weight === 0) continue;
        for (let i = 0; i < n; i++) termScores[i] += weight * scores[i]!;
      }
      if (term.scorerWeight > 0) for (let i = 0; i < n; i++) termScores[i] /= term.scorerWeight;
      if (compiled.normalize) minMaxInPlace(termScores);
      for (let i = 0; i < n; i++) combined[i] += term.weight * termScores[i]!;
      termWeight += term.weight;
    }
    if (termWeight > 0 && termWeight !== 1) for (let i = 0; i < n; i++) combined[i] /= termWeight;

    const picker = compiled.picker;
    const t0 = timer?.();
    const index = picker.pick(request, candidates, combined, ctx);
    if (timings) timings.push({ stage: 'picker', plugin: picker.name, ms: timer!() - t0! });
    if (!Number.isInteger(index) || index < 0 || index >= n) {
      throw new RoutingPluginError(picker.name, `picked index ${index} of ${n} candidates`);
    }
    const engine = candidates[index]!;

    const why: string[] = [];
    for (const term of compiled.terms) {
      for (const { scorer, weight } of term.scorers) {
        if (weight === 0 || !scorer.explain) continue;
        const text = scorer.explain(index);
        if (text && !why.includes(text)) why.push(text);
      }
    }

    for (const target of this.hookTargets) {
      if (!target.hooks.onRouted) continue;
      const r0 = timer?.();
      target.hooks.onRouted(request, engine);
      if (timings) timings.push({ stage: 'record', plugin: target.name, ms: timer!() - r0! });
    }

    return {
      engine,
      strategy: compiled.name,
      reason: why.length > 0 ? why.join('; ') : `${picker.name} among ${n}`,
      score: combined[index]!,
      candidates: n,
      timings: timings ?? NO_TIMINGS,
    };
  }

  /** Feeds a finished request back to the stateful plugins. Call exactly once per routed request. */
  completed(request: RoutingRequest, engineId: string, outcome: RequestOutcome): void {
    for (const target of this.hookTargets) target.hooks.onCompleted?.(request, engineId, outcome);
  }

  /** An engine left for good: stateful plugins forget it. */
  engineRemoved(engineId: string): void {
    for (const target of this.hookTargets) target.hooks.onEngineRemoved?.(engineId);
  }

  /** A plugin instance by name, for inspection and tests. */
  plugin(name: string): Plugin | undefined {
    return this.instances.get(name);
  }

  private sharedState<T extends object>(key: string, make: () => T): T {
    let state = this.shared.get(key) as T | undefined;
    if (state === undefined) {
      state = make();
      this.shared.set(key, state);
      const hooks = state as FeedbackHooks;
      if (hooks.onRouted || hooks.onCompleted || hooks.onEngineRemoved) this.hookTargets.push({ name: key, hooks });
    }
    return state;
  }

  private instance<K extends PluginKind>(name: string, kind: K, path: string): PluginOfKind<K> {
    const plugin = this.instances.get(name);
    if (!plugin) throw new RoutingConfigError(path, `no plugin instance named \`${name}\``);
    if (plugin.kind !== kind) throw new RoutingConfigError(path, `\`${name}\` is a ${plugin.kind}, not a ${kind}`);
    return plugin as PluginOfKind<K>;
  }

  private strategyFor(expression: string | undefined): CompiledStrategy {
    if (expression === undefined || expression.trim() === '') return this.defaultCompiled;
    return this.profiles.get(expression) ?? this.expressions.get(expression) ?? this.compileAndCache(expression);
  }

  private compileAndCache(expression: string): CompiledStrategy {
    const compiled = this.compile(expression);
    // Header values are client input: keep the cache bounded by evicting the oldest expression.
    if (this.expressions.size >= MAX_CACHED_EXPRESSIONS) this.expressions.delete(this.expressions.keys().next().value!);
    this.expressions.set(expression, compiled);
    return compiled;
  }

  private compile(expression: string): CompiledStrategy {
    const parsed = parseStrategy(expression, this.profileNames);
    if (parsed.kind === 'profile') return this.profiles.get(parsed.name)!;
    const filters: Filter[] = [];
    const terms: Term[] = [];
    for (const { profile, weight } of parsed.terms) {
      const p = this.profiles.get(profile)!;
      for (const f of p.filters) if (!filters.includes(f)) filters.push(f);
      terms.push({ ...p.terms[0]!, weight });
    }
    return { name: parsed.name, filters, terms, picker: this.instance(DEFAULT_PICKER, 'picker', 'combination'), normalize: true };
  }
}

function checkScores(scorer: Scorer, scores: ArrayLike<number>, candidates: readonly EngineView[]): void {
  if (scores.length !== candidates.length) {
    throw new RoutingPluginError(scorer.name, `returned ${scores.length} scores for ${candidates.length} candidates`);
  }
  for (let i = 0; i < scores.length; i++) {
    const v = scores[i]!;
    // Written so that NaN fails too.
    if (!(v >= 0 && v <= 1)) {
      throw new RoutingPluginError(scorer.name, `scored engine \`${candidates[i]!.id}\` ${v}; scores must be numbers in [0, 1]`);
    }
  }
}

/** Rescales to [0, 1] (lowest → 0, highest → 1); when all are equal every entry becomes 1 (no preference). */
function minMaxInPlace(values: Float64Array): void {
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const span = max - min;
  for (let i = 0; i < values.length; i++) values[i] = span > 0 ? (values[i]! - min) / span : 1;
}
