import { ScrapeError } from '@brix/engine-metrics';
import { Agent, request } from 'undici';

/** What the sidecar asks of the engine beside it. Injected into buildApp, so tests can point it anywhere. */
export interface EngineClient {
  /** The engine's Prometheus text; rejects with ScrapeError (unreachable, non-200) or the signal's reason. */
  fetchMetrics(signal: AbortSignal): Promise<string>;
  /** Whether the engine answers its health route with 2xx. Never rejects for an unreachable engine. */
  health(signal: AbortSignal): Promise<{ ok: true } | { ok: false; reason: string }>;
  close(): Promise<void>;
}

/** Largest metrics text accepted, bytes (vLLM with many LoRA series stays far below). */
const MAX_METRICS_BYTES = 8 * 1024 * 1024;

/** An EngineClient over HTTP (undici, one small keep-alive pool to the engine). */
export function createEngineClient(baseUrl: string, options: { healthPath?: string } = {}): EngineClient {
  const base = new URL(baseUrl.replace(/\/+$/, '') + '/');
  const agent = new Agent({ connections: 4, keepAliveTimeout: 30_000 });
  const healthUrl = new URL((options.healthPath ?? '/health').replace(/^\//, ''), base);
  const metricsUrl = new URL('metrics', base);

  return {
    async fetchMetrics(signal) {
      let res;
      try {
        res = await request(metricsUrl, { dispatcher: agent, signal });
      } catch (err) {
        if (signal.aborted) throw signal.reason;
        throw new ScrapeError(`engine at ${base.host} is unreachable: ${(err as Error).message}`, { cause: err });
      }
      if (res.statusCode !== 200) {
        res.body.resume();
        throw new ScrapeError(`engine at ${base.host} answered ${res.statusCode} on /metrics`);
      }
      const length = Number(res.headers['content-length'] ?? 0);
      if (length > MAX_METRICS_BYTES) {
        res.body.destroy();
        throw new ScrapeError(`engine metrics of ${length} bytes exceed the limit of ${MAX_METRICS_BYTES}`);
      }
      return res.body.text();
    },

    async health(signal) {
      try {
        const res = await request(healthUrl, { dispatcher: agent, signal });
        res.body.resume();
        return res.statusCode >= 200 && res.statusCode < 300
          ? { ok: true }
          : { ok: false, reason: `engine health check answered ${res.statusCode}` };
      } catch (err) {
        return {
          ok: false,
          reason: signal.aborted ? 'engine health check timed out' : `engine unreachable: ${(err as Error).message}`,
        };
      }
    },

    close: () => agent.close(),
  };
}
