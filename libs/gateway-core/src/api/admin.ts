import { type HttpApp } from '@brix/http';
import { type EngineStateStore } from '../state/engine-state';

/** Operators' view: `GET /admin/engines` (bearer-guarded by the app factory). */
export function registerAdminRoutes(app: HttpApp, store: EngineStateStore, now: () => number): void {
  app.get('/admin/engines', async () => {
    const t = now();
    return {
      engines: store.all().map((e) => ({
        id: e.id,
        model: e.model,
        url: e.url,
        ready: e.info.ready,
        gpuType: e.gpuType ?? null,
        node: e.info.node ?? null,
        sidecarUrl: e.info.sidecarUrl ?? null,
        capacity: e.capacity,
        loadedAdapters: [...e.loadedAdapters],
        breaker: e.breaker.state(t),
        inFlight: e.inFlight,
        inFlightTokens: e.inFlightTokens,
        load: {
          running: e.running,
          waiting: e.waiting,
          kvUsage: e.kvUsage,
          prefixHitRate: e.prefixHitRate,
          promptTokensPerSec: e.promptTokensPerSec,
          generationTokensPerSec: e.generationTokensPerSec,
          ttftMs: e.ttftMs,
          itlMs: e.itlMs,
        },
        loadSource: e.stateSource ?? null,
        loadAgeMs: e.stateAgeMs,
        stale: e.stale,
      })),
    };
  });
}
