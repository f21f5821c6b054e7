import { BrixError, ServiceUnavailableError } from '@brix/contracts';

/**
 * The `routing-strategy` header (or a configured default) names no strategy, or is a malformed weighted
 * combination. A client mistake: HTTP 400 with code `unknown_routing_strategy`; the message lists the
 * valid names.
 */
export class UnknownRoutingStrategyError extends BrixError {
  override name = 'UnknownRoutingStrategyError';
  constructor(
    readonly strategy: string,
    readonly validStrategies: readonly string[],
    detail?: string,
  ) {
    super(
      'unknown_routing_strategy',
      `${detail ?? `Unknown routing strategy \`${strategy}\`.`} Valid strategies: ${validStrategies.join(', ')}; ` +
        'or a weighted combination such as `prefix-cache:2,least-request:1`.',
      { param: 'routing-strategy' },
    );
  }
}

/** No ready engine of the model is left to route to: HTTP 503 (`no_capacity`) with Retry-After. */
export class NoEngineAvailableError extends ServiceUnavailableError {
  override name = 'NoEngineAvailableError';
  constructor(
    readonly model: string,
    message = `No ready engine serves model \`${model}\`.`,
  ) {
    super(message);
  }
}

/**
 * A plugin broke its contract (a scorer returned NaN or a value outside [0, 1], a picker returned a bad
 * index, a filter invented engines). A bug, not a client mistake: it surfaces as a 500.
 */
export class RoutingPluginError extends Error {
  override readonly name = 'RoutingPluginError';
  readonly code = 'BRIX_ROUTING_PLUGIN_CONTRACT';
  constructor(
    readonly plugin: string,
    message: string,
  ) {
    super(`routing plugin \`${plugin}\`: ${message}`);
  }
}

/** The routing configuration is invalid (unknown plugin type, bad params, a profile naming a missing instance). */
export class RoutingConfigError extends Error {
  override readonly name = 'RoutingConfigError';
  readonly code = 'BRIX_ROUTING_CONFIG_INVALID';
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`invalid routing configuration at ${path}: ${message}`);
  }
}
