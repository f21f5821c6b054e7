import { type Clock, type TimerHandle } from '@brix/clock';
import { type EngineLoadSnapshot } from '@brix/contracts';
import { type Logger } from '@brix/observability';
import { type Upstream } from '../proxy/upstream';
import { type EngineRecord, type EngineStateStore } from './engine-state';

/**
 * Reads an engine's Prometheus text into a load snapshot. Stateful per engine (rates come from counter
 * deltas between scrapes), hence one interpreter call per engine id.
 */
export type MetricsInterpreter = (
  engine: { id: string; model: string; url: string },
  text: string,
  now: number,
) => { snapshot: EngineLoadSnapshot; restarted: boolean } | undefined;

export interface PollerOptions {
  /** 0 disables scraping. */
  scrapeIntervalMs: number;
  /** 0 disables adapter polling. */
  adapterPollMs: number;
  interpret?: MetricsInterpreter;
}

/**
 * The gateway's own view of engines that no sidecar reports on: scrapes /metrics of engines whose bus
 * state is not fresh, and polls /v1/models to learn which adapters each engine has loaded.
 * A scrape that is still running is never started again for the same engine.
 */
export class EnginePoller {
  private scrapeTimer?: TimerHandle;
  private adapterTimer?: TimerHandle;
  private readonly busy = new Set<string>();
  private stopped = false;

  constructor(
    private readonly store: EngineStateStore,
    private readonly upstream: Upstream,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly options: PollerOptions,
  ) {}

  start(): void {
    if (this.options.scrapeIntervalMs > 0 && this.options.interpret) this.scheduleScrape(0);
    if (this.options.adapterPollMs > 0) this.scheduleAdapters(0);
  }

  stop(): void {
    this.stopped = true;
    if (this.scrapeTimer) this.clock.clearTimer(this.scrapeTimer);
    if (this.adapterTimer) this.clock.clearTimer(this.adapterTimer);
  }

  private scheduleScrape(ms: number): void {
    if (this.stopped) return;
    this.scrapeTimer = this.clock.setTimer(ms, () => {
      for (const e of this.store.all()) {
        if (e.info.ready && (e.stateSource !== 'bus' || e.stale)) void this.scrape(e);
      }
      this.scheduleScrape(this.options.scrapeIntervalMs);
    });
  }

  private scheduleAdapters(ms: number): void {
    if (this.stopped) return;
    this.adapterTimer = this.clock.setTimer(ms, () => {
      for (const e of this.store.all()) if (e.info.ready) void this.pollAdapters(e);
      this.scheduleAdapters(this.options.adapterPollMs);
    });
  }

  private async scrape(e: EngineRecord): Promise<void> {
    const key = `m:${e.id}`;
    if (this.busy.has(key)) return;
    this.busy.add(key);
    try {
      const res = await this.upstream.get(e.url, '/metrics', Math.max(1_000, this.options.scrapeIntervalMs * 10));
      if (res.status !== 200) return;
      const result = this.options.interpret!({ id: e.id, model: e.model, url: e.url }, res.text, this.clock.now());
      if (!result) return;
      // Counters went back: a new engine process with empty caches answers under the same id.
      if (result.restarted) this.store.markRestarted(e.id);
      this.store.applySnapshot(result.snapshot, 'scrape');
    } catch (err) {
      this.logger.debug({ engine: e.id, err: (err as Error).message }, 'metrics scrape failed');
    } finally {
      this.busy.delete(key);
    }
  }

  private async pollAdapters(e: EngineRecord): Promise<void> {
    const key = `a:${e.id}`;
    if (this.busy.has(key)) return;
    this.busy.add(key);
    try {
      const res = await this.upstream.get(e.url, '/v1/models', 5_000);
      if (res.status !== 200) return;
      const body = JSON.parse(res.text) as { data?: Array<{ id?: string; parent?: string | null }> };
      const adapters = (body.data ?? []).filter((m) => m.parent && m.id).map((m) => m.id!);
      this.store.setAdapters(e.id, adapters);
    } catch (err) {
      this.logger.debug({ engine: e.id, err: (err as Error).message }, 'adapter poll failed');
    } finally {
      this.busy.delete(key);
    }
  }
}
