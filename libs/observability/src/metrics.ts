import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Seconds; request-scale latencies from 1 ms to 2 minutes. */
export const LATENCY_BUCKETS_SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
/** Seconds; in-process work from 10 µs to 100 ms (routing decisions, gateway overhead). */
export const FAST_BUCKETS_SECONDS = [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1];

export interface MetricsConfig {
  service: string;
  /** Collect Node process metrics (event loop lag, heap, GC). Default true. */
  processMetrics?: boolean;
}

/**
 * A prom-client registry per service instance (never the global one, so several services can share
 * one process in embedded mode and tests never leak metrics into each other).
 */
export function createMetricsRegistry(config: MetricsConfig): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service: config.service });
  if (config.processMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'brix_' });
  return registry;
}

/** Counter of bus messages dropped because they failed to decode (see @brix/bus subscribeEvents). */
export function invalidMessageCounter(registry: Registry): Counter<'contract' | 'reason'> {
  return new Counter({
    name: 'brix_bus_invalid_messages_total',
    help: 'Bus messages dropped because they did not decode into their contract',
    labelNames: ['contract', 'reason'],
    registers: [registry],
  });
}

/** The standard per-service gauge of bus connectivity (1 = connected); set it from Bus.onStateChange. */
export function busConnectedGauge(registry: Registry): Gauge {
  return new Gauge({
    name: 'brix_bus_connected',
    help: 'Whether the service is connected to the bus (1) or not (0)',
    registers: [registry],
  });
}

export function latencyHistogram<L extends string>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly L[] = [],
  buckets = LATENCY_BUCKETS_SECONDS,
): Histogram<L> {
  return new Histogram({ name, help, labelNames: [...labelNames], buckets, registers: [registry] });
}
