export * from './engine-load';
export * from './gateway-requests';
export * from './adapter-events';
export * from './kv-events';
export * from './kvcache-events';
export * from './engine-lifecycle';
export * from './accelerator-health';
export * from './scale-decisions';

import { AcceleratorHealth } from './accelerator-health';
import { AdapterEvents } from './adapter-events';
import { EngineLifecycle } from './engine-lifecycle';
import { EngineLoad } from './engine-load';
import { GatewayRequests } from './gateway-requests';
import { KvPoolEvents } from './kvcache-events';
import { KvEvents } from './kv-events';
import { ScaleDecisions } from './scale-decisions';

/** Every event contract Brix puts on the bus (docs/architecture.md lists them with their producers). */
export const allContracts = [
  EngineLoad,
  GatewayRequests,
  AdapterEvents,
  KvEvents,
  KvPoolEvents,
  EngineLifecycle,
  AcceleratorHealth,
  ScaleDecisions,
] as const;
