import { type RoutingConfigInput } from './framework/config';
import { Registry } from './framework/registry';
import { Router } from './framework/router';
import { builtinRoutingConfig, mergeRoutingConfig } from './plugins/builtin-config';
import { registerBuiltinPlugins } from './plugins/register';

export interface CreateRouterOptions {
  /** Merged over the built-in instances and strategies (same names replace built-ins). */
  readonly config?: RoutingConfigInput;
  /** High-resolution milliseconds (e.g. `performance.now`) for per-stage timings; omit for none. */
  readonly timer?: () => number;
  /** A registry with extra plugin types; defaults to one holding the built-ins only. */
  readonly registry?: Registry;
}

/** A Router with every built-in plugin and strategy, plus whatever `config` adds or replaces. */
export function createRouter(options: CreateRouterOptions = {}): Router {
  return new Router({
    registry: options.registry ?? registerBuiltinPlugins(new Registry()),
    config: mergeRoutingConfig(builtinRoutingConfig, options.config),
    timer: options.timer,
  });
}
