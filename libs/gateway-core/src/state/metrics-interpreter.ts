import { createEngineTableRegistry, LoadTracker, parsePrometheusText, standardize } from '@brix/engine-metrics';
import { type MetricsInterpreter } from './engine-poller';

/**
 * The gateway's reading of engine /metrics when no sidecar reports: detect the engine family from the
 * metric names, translate to the Brix vocabulary, and keep one LoadTracker per engine for rates.
 */
export function interpretEngineMetrics(): MetricsInterpreter {
  const tables = createEngineTableRegistry();
  const trackers = new Map<string, LoadTracker>();
  return (engine, text, now) => {
    const parsed = parsePrometheusText(text);
    const table = tables.detect(parsed);
    if (!table) return undefined;
    let tracker = trackers.get(engine.id);
    if (!tracker) {
      tracker = new LoadTracker({ model: engine.model, pod: engine.id, url: engine.url });
      trackers.set(engine.id, tracker);
    }
    return tracker.update(standardize(parsed, table), now);
  };
}
