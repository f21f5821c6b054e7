import { buildGateway, type Gateway, type GatewayDeps } from '@brix/gateway-core';

export type { Gateway, GatewayDeps };

/** The gateway app: everything but listening. Tests call this and use `app.inject()` or listen on port 0. */
export function buildApp(deps: GatewayDeps): Promise<Gateway> {
  return buildGateway(deps);
}
