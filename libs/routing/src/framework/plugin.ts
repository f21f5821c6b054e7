import { type Static, type TSchema } from 'typebox';
import { type EngineView, type RoutingContext, type RoutingRequest } from '../types';

/** The three extension points of a routing profile, run in this order. */
export const PluginKind = { filter: 'filter', scorer: 'scorer', picker: 'picker' } as const;
export type PluginKind = (typeof PluginKind)[keyof typeof PluginKind];

/** What the gateway (or the simulation) learned when a routed request finished. */
export interface RequestOutcome {
  /** Prompt tokens the engine reported (usage.prompt_tokens), or the router's estimate when unknown. */
  readonly promptTokens: number;
  /** Tokens generated; 0 when the request failed before the first token. */
  readonly completionTokens: number;
  /** False when the engine answered with an error, the client aborted, or the proxy failed. */
  readonly ok: boolean;
}

/**
 * Feedback for stateful plugins. The Router calls every hook of every plugin instance and shared state
 * object it holds, whichever strategy made the decision, so learned state reflects all traffic.
 * Hooks run synchronously on the request path: keep them cheap and never throw for bad input.
 */
export interface FeedbackHooks {
  /** The request was sent to `engine` (called by Router.route after the pick). */
  onRouted?(request: RoutingRequest, engine: EngineView): void;
  /** A request routed earlier finished, successfully or not. Called once per routed request. */
  onCompleted?(request: RoutingRequest, engineId: string, outcome: RequestOutcome): void;
  /** The engine left the directory for good: forget everything learned about it. */
  onEngineRemoved?(engineId: string): void;
}

interface PluginBase extends FeedbackHooks {
  /** The factory's type id (its folder name, e.g. `least-request`). */
  readonly type: string;
  /** The instance name from the routing config (often equal to the type). Stage timings use it. */
  readonly name: string;
}

/** Narrows the candidate engines. Must return a subset of `candidates`, in any order; may return all. */
export interface Filter extends PluginBase {
  readonly kind: 'filter';
  filter(request: RoutingRequest, candidates: readonly EngineView[], ctx: RoutingContext): readonly EngineView[];
}

/**
 * Scores every candidate. Returns one number per candidate, same order, each in [0, 1], higher is
 * better. The Router rejects NaN, infinities and out-of-range values with a RoutingPluginError. The Router is done
 * with the returned array before it calls score() again, so a scorer may hand back the same buffer every time.
 */
export interface Scorer extends PluginBase {
  readonly kind: 'scorer';
  score(request: RoutingRequest, candidates: readonly EngineView[], ctx: RoutingContext): ArrayLike<number>;
  /**
   * A few words on why `candidates[index]` got its score in the latest score() call, for the decision's
   * reason. Called at most once per decision, for the chosen engine only.
   */
  explain?(index: number): string | undefined;
}

/** Chooses one candidate from the combined scores (one per candidate, in [0, 1]). Returns its index. */
export interface Picker extends PluginBase {
  readonly kind: 'picker';
  pick(request: RoutingRequest, candidates: readonly EngineView[], scores: ArrayLike<number>, ctx: RoutingContext): number;
}

export type Plugin = Filter | Scorer | Picker;
export type PluginOfKind<K extends PluginKind> = Extract<Plugin, { kind: K }>;

/** What a factory may use while building an instance. */
export interface PluginEnv {
  /** The instance name being built. */
  readonly name: string;
  /**
   * State shared by every plugin of one Router that asks for the same key (the prefix index, the session
   * table). `make` runs once per key. When the object has feedback hooks, the Router calls them once per
   * event, so plugins sharing it must not forward events to it themselves.
   */
  shared<T extends object>(key: string, make: () => T): T;
}

/**
 * A plugin type: its id (= folder name), kind, TypeBox parameter schema (with defaults) and constructor.
 * The registry validates params against the schema and applies its defaults before calling `create`.
 */
export interface PluginFactory<K extends PluginKind = PluginKind, S extends TSchema = TSchema> {
  readonly type: string;
  readonly kind: K;
  readonly params: S;
  /** One line for listings and errors. */
  readonly summary: string;
  create(params: Static<S>, env: PluginEnv): PluginOfKind<K>;
}

/**
 * A factory of any kind and parameter schema, as the registry holds it: `create` accepts only the params
 * the registry has validated against `params`, which the type system cannot express, hence `never`.
 */
export interface AnyPluginFactory {
  readonly type: string;
  readonly kind: PluginKind;
  readonly params: TSchema;
  readonly summary: string;
  create(params: never, env: PluginEnv): Plugin;
}

/** Identity helper so a factory's `create` sees its params typed from the schema. */
export function definePlugin<K extends PluginKind, S extends TSchema>(factory: PluginFactory<K, S>): PluginFactory<K, S> {
  return factory;
}
