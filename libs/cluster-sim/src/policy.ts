import { type EngineView, type RequestOutcome, type RoutingContext, type RoutingRequest } from '@brix/routing';

/**
 * The simulation's routing port: what the gateway asks of its router. `route` picks one of `engines` (the
 * ready engines of the request's model that serve its adapter, as the gateway filters them); the simulation
 * then calls `completed` exactly once per routed request when its answer reached the gateway, and
 * `engineRemoved` when an engine leaves the cluster — the same calls, at the same moments, as the live gateway.
 *
 * `route` may throw a `BrixError` (no engine available, unknown strategy): the request is then refused with
 * that error's code, as the gateway would answer it. Any other exception is a bug and stops the run.
 */
export interface RoutingPolicy {
  /** Shown in reports. */
  readonly name: string;
  /** Returns the id of the chosen engine. `strategy` is the request's `routing-strategy` header, if any. */
  route(request: RoutingRequest, engines: readonly EngineView[], ctx: RoutingContext, strategy?: string): string;
  completed?(request: RoutingRequest, engineId: string, outcome: RequestOutcome): void;
  engineRemoved?(engineId: string): void;
}

/** The part of `@brix/routing`'s Router (and of the gateway's router port) the simulation drives. */
export interface RouterLike {
  route(request: RoutingRequest, engines: readonly EngineView[], ctx: RoutingContext, strategy?: string): { engine: EngineView };
  completed(request: RoutingRequest, engineId: string, outcome: RequestOutcome): void;
  engineRemoved(engineId: string): void;
  readonly defaultStrategy?: string;
}

/**
 * Runs the gateway's real routing code: a Router from `createRouter()` (or any router with its shape), with
 * `strategy` as the default for requests that name none. The Router records each decision with its stateful
 * plugins itself (onRouted); this policy forwards completions and engine removals.
 */
export function routerPolicy(router: RouterLike, options: { strategy?: string; name?: string } = {}): RoutingPolicy {
  const fallback = options.strategy;
  return {
    name: options.name ?? fallback ?? router.defaultStrategy ?? 'router',
    route: (request, engines, ctx, strategy) => router.route(request, engines, ctx, strategy ?? fallback).engine.id,
    completed: (request, engineId, outcome) => router.completed(request, engineId, outcome),
    engineRemoved: (engineId) => router.engineRemoved(engineId),
  };
}
