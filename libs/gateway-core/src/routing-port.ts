import { type EngineView, type RequestOutcome, type RoutingContext, type RoutingRequest } from '@brix/routing';

/** The routing decision the gateway acts on. */
export interface GatewayDecision {
  readonly engine: EngineView;
  /** The canonical strategy that decided (the request's, or the default). */
  readonly strategy: string;
}

/**
 * What the gateway needs from routing; @brix/routing's Router satisfies it. Kept narrow so the request
 * path can be tested with any router.
 */
export interface GatewayRouter {
  /** Canonical name of a strategy expression; throws a BrixError (400 naming the valid ones) when unknown. */
  resolveStrategy(strategy?: string): string;
  route(request: RoutingRequest, candidates: readonly EngineView[], ctx: RoutingContext, strategy?: string): GatewayDecision;
  completed(request: RoutingRequest, engineId: string, outcome: RequestOutcome): void;
  engineRemoved(engineId: string): void;
}
