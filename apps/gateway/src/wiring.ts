import { type Bus, subscribeEvents } from '@brix/bus';
import { EngineLifecycle } from '@brix/contracts';
import { applyLifecycleEvent, type EngineDirectory, MemoryEngineDirectory } from '@brix/discovery';
import { type GatewayConfig, parseStaticEngines } from '@brix/gateway-core';
import { type Logger } from '@brix/observability';

/** Chooses the EngineDirectory adapter the configuration names. */
export async function createDirectory(
  config: GatewayConfig,
  bus: Bus,
  logger: Logger,
): Promise<{ directory: EngineDirectory; close: () => void }> {
  switch (config.directory) {
    case 'static':
      return { directory: new MemoryEngineDirectory(parseStaticEngines(config.engines)), close: () => undefined };
    case 'lifecycle': {
      const directory = new MemoryEngineDirectory(parseStaticEngines(config.engines));
      const sub = subscribeEvents(bus, EngineLifecycle, (e) => applyLifecycleEvent(directory, e));
      return { directory, close: () => sub.unsubscribe() };
    }
    case 'kubernetes': {
      const { createKubernetesEngineDirectory } = await import('./kubernetes');
      const directory = await createKubernetesEngineDirectory(config.kubeNamespace, logger);
      return { directory, close: () => void directory.close() };
    }
  }
}
