import { type ArtifactStore } from '@brix/artifacts';
import { brixFamilies, type ExpositionFamily } from '@brix/engine-metrics';
import { Counter, FAST_BUCKETS_SECONDS, Gauge, latencyHistogram, type Registry } from '@brix/observability';
import { type Metric } from 'prom-client';
import { type KvBridgeMetrics } from './kv-events/bridge';

/**
 * Registers the standardized engine families (brix_engine_*) on a prom-client registry. Their values
 * come from `current()` at scrape time: prom-client cannot set counters or histograms to values read
 * elsewhere, so each family is a small collector object in the shape the registry writes out.
 */
export function registerEngineFamilies(registry: Registry, current: () => readonly ExpositionFamily[]): void {
  for (const family of brixFamilies()) {
    const collector = {
      name: family.name,
      help: family.help,
      type: family.type,
      aggregator: 'sum',
      get: async () => {
        const f = current().find((x) => x.name === family.name);
        return {
          name: family.name,
          help: family.help,
          type: family.type,
          aggregator: 'sum',
          values: (f?.samples ?? []).map((s) => ({ value: s.value, labels: { ...s.labels }, metricName: s.name })),
        };
      },
      reset: () => undefined,
    };
    registry.registerMetric(collector as unknown as Metric);
  }
}

/** The sidecar's own metrics. */
export function runtimeMetrics(registry: Registry, artifacts: ArtifactStore) {
  return {
    scrapes: new Counter({
      name: 'brix_runtime_scrapes_total',
      help: "Scrapes of the engine's /metrics, by result (ok, error)",
      labelNames: ['result'],
      registers: [registry],
    }),
    scrapeDuration: latencyHistogram(
      registry,
      'brix_runtime_scrape_duration_seconds',
      'Duration of one engine scrape',
      [],
      [...FAST_BUCKETS_SECONDS, 0.25, 0.5, 1, 2.5],
    ),
    engineUp: new Gauge({
      name: 'brix_runtime_engine_up',
      help: 'Whether the last scrape of the engine succeeded (1) or not (0)',
      registers: [registry],
    }),
    snapshots: new Counter({
      name: 'brix_runtime_load_snapshots_total',
      help: 'Load snapshots published on brix.engine.load.<model>.<pod>',
      registers: [registry],
    }),
    artifacts: new Gauge({
      name: 'brix_runtime_artifacts',
      help: 'Artifacts in the cache, by status (complete, downloading, partial, failed)',
      labelNames: ['status'],
      registers: [registry],
      async collect() {
        this.reset();
        for (const status of ['complete', 'downloading', 'partial', 'failed']) this.set({ status }, 0);
        for (const a of await artifacts.list()) this.inc({ status: a.status });
      },
    }),
  };
}

/** Metrics of the KV-event bridge (see KvEventBridge). */
export function kvBridgeMetrics(registry: Registry): KvBridgeMetrics {
  return {
    batches: new Counter({
      name: 'brix_runtime_kv_batches_total',
      help: 'Engine KV-event batches, by result (published, replayed, undecodable, malformed)',
      labelNames: ['result'],
      registers: [registry],
    }),
    events: new Counter({
      name: 'brix_runtime_kv_events_total',
      help: 'KV-cache events bridged to the bus, by type (skipped:<type> for events left out)',
      labelNames: ['type'],
      registers: [registry],
    }),
    gaps: new Counter({
      name: 'brix_runtime_kv_gaps_total',
      help: "Gaps in the engine's KV-event sequence, by outcome (replayed, lost)",
      labelNames: ['outcome'],
      registers: [registry],
    }),
    lostBatches: new Counter({
      name: 'brix_runtime_kv_lost_batches_total',
      help: 'Engine KV-event batches missed and not recovered by replay',
      registers: [registry],
    }),
    sequenceResets: new Counter({
      name: 'brix_runtime_kv_sequence_resets_total',
      help: "Times the engine's KV-event sequence started over (a new engine process)",
      registers: [registry],
    }),
    connected: new Gauge({
      name: 'brix_runtime_kv_publisher_connected',
      help: "Whether the sidecar is connected to the engine's KV-event publisher (1) or not (0)",
      registers: [registry],
    }),
  };
}

/** Metrics of adapter loading. */
export function adapterMetrics(registry: Registry, loaded: () => number) {
  return {
    operations: new Counter({
      name: 'brix_runtime_adapter_operations_total',
      help: 'Adapter load and unload requests, by operation and result (changed, unchanged, error code)',
      labelNames: ['operation', 'result'],
      registers: [registry],
    }),
    loaded: new Gauge({
      name: 'brix_runtime_adapters_loaded',
      help: 'LoRA adapters the engine lists in /v1/models',
      registers: [registry],
      collect() {
        this.set(loaded());
      },
    }),
  };
}
