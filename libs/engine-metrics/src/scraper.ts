import { type Clock, type TimerHandle } from '@brix/clock';
import { type EngineLoadSnapshot } from '@brix/contracts';
import { ScrapeError, UnknownEngineError } from './errors';
import { LoadTracker, type LoadTrackerOptions } from './load-tracker';
import { parsePrometheusText, type SkippedLine } from './prometheus/parse';
import { type EngineTableRegistry } from './registry';
import { standardize, type StandardMetrics } from './standardize';
import { type EngineMetricTable } from './table';

/**
 * Where metrics text comes from. The caller owns the transport (undici in the sidecar, the gateway's
 * own engine client), so this lib stays free of HTTP libraries. Must reject when `signal` aborts.
 */
export type FetchMetricsText = (signal: AbortSignal) => Promise<string>;

export type ScrapeResult =
  | {
      readonly ok: true;
      /** Clock time the scrape started, epoch ms; the snapshot's `ts`. */
      readonly ts: number;
      readonly snapshot: EngineLoadSnapshot;
      readonly metrics: StandardMetrics;
      readonly restarted: boolean;
      /** Lines of the engine's text that could not be parsed (the rest was used). */
      readonly skipped: readonly SkippedLine[];
      readonly durationMs: number;
    }
  | { readonly ok: false; readonly ts: number; readonly error: Error; readonly durationMs: number };

export interface EngineScraperOptions extends LoadTrackerOptions {
  clock: Clock;
  fetchText: FetchMetricsText;
  tables: EngineTableRegistry;
  /** Table id to use; absent: detected from the first scrape's metric names (and re-detected on failure). */
  engine?: string;
  /** Pause between the end of one scrape and the start of the next, ms. */
  intervalMs: number;
  /** A scrape still running after this long is aborted and counts as failed, ms. */
  timeoutMs: number;
  /** Called after every scrape, successful or not. Exceptions it throws are swallowed. */
  onScrape?: (result: ScrapeResult) => void;
}

/**
 * Scrapes one engine's metrics on an injected clock: fetch → parse → translate with the engine's table
 * → {@link LoadTracker} → `onScrape`. Scrapes never overlap: the next starts `intervalMs` after the
 * previous one ended (so a slow engine is not piled on). Used by the ai-runtime sidecar, and by the
 * gateway for engines that have no sidecar.
 */
export class EngineScraper {
  private readonly tracker: LoadTracker;
  private table: EngineMetricTable | undefined;
  private timer: TimerHandle | undefined;
  private inFlight: AbortController | undefined;
  private running = false;
  private last: ScrapeResult | undefined;

  constructor(private readonly options: EngineScraperOptions) {
    this.tracker = new LoadTracker(options);
    if (options.engine) this.table = options.tables.get(options.engine);
  }

  /** The most recent result, if any scrape finished. */
  latest(): ScrapeResult | undefined {
    return this.last;
  }

  /** Starts the loop; the first scrape runs at once. Idempotent. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule(0);
  }

  /** Stops the loop and aborts a scrape in flight. */
  stop(): void {
    this.running = false;
    if (this.timer !== undefined) this.options.clock.clearTimer(this.timer);
    this.timer = undefined;
    this.inFlight?.abort(this.stopped);
  }

  /** The abort reason of a scrape cut short by stop(); such a scrape is not reported. */
  private readonly stopped = new ScrapeError('scraper stopped');

  /** Runs one scrape now (outside the loop too) and reports it to `onScrape`. Never rejects. */
  async scrapeOnce(): Promise<ScrapeResult> {
    const { clock } = this.options;
    const ts = clock.now();
    const controller = new AbortController();
    this.inFlight = controller;
    const timeout = clock.setTimer(this.options.timeoutMs, () =>
      controller.abort(new ScrapeError(`scrape timed out after ${this.options.timeoutMs} ms`)),
    );
    let result: ScrapeResult;
    try {
      const text = await abortable(this.options.fetchText(controller.signal), controller.signal);
      const parsed = parsePrometheusText(text);
      const table = this.table ?? this.options.tables.detect(parsed);
      if (!table) throw new UnknownEngineError(this.options.tables.ids());
      this.table = table;
      const metrics = standardize(parsed, table);
      const { snapshot, restarted } = this.tracker.update(metrics, ts);
      result = { ok: true, ts, snapshot, metrics, restarted, skipped: parsed.skipped, durationMs: clock.now() - ts };
    } catch (err) {
      // Auto-detection may have picked up a half-started engine; detect again next time.
      if (!this.options.engine) this.table = undefined;
      const error = err instanceof Error ? err : new ScrapeError(String(err));
      result = { ok: false, ts, error, durationMs: clock.now() - ts };
    } finally {
      clock.clearTimer(timeout);
      if (this.inFlight === controller) this.inFlight = undefined;
    }
    if (!result.ok && result.error === this.stopped) return result;
    this.last = result;
    try {
      this.options.onScrape?.(result);
    } catch {
      // A consumer's bug must not stop the loop.
    }
    return result;
  }

  private schedule(ms: number): void {
    this.timer = this.options.clock.setTimer(ms, () => {
      this.timer = undefined;
      if (!this.running) return;
      void this.scrapeOnce().then(() => {
        if (this.running) this.schedule(this.options.intervalMs);
      });
    });
  }
}

/** Rejects with the signal's reason as soon as it aborts, even if `promise` ignores the signal. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
