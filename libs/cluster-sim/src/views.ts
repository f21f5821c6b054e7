import { type Clock } from '@brix/clock';
import { type EngineCounters, type EngineSnapshot } from '@brix/engine-model';
import { EngineLoadState, type EngineView } from '@brix/routing';

/**
 * What the gateway knows about one simulated engine, kept as the live gateway keeps it (the same
 * {@link EngineLoadState} its `EngineRecord` extends): gauges, token rates and latency means from the engine's
 * latest load report, in-flight counts kept by the gateway itself, the same freshness rule. The routing code reads
 * it as an {@link EngineView}.
 */
export class SimEngineView extends EngineLoadState implements EngineView {
  /** False until the engine's start-up is over, and after it left the cluster. */
  ready = false;

  constructor(
    readonly id: string,
    readonly model: string,
    readonly gpuType: string,
    readonly capacity: number,
    readonly maxNumSeqs: number,
    readonly maxLoras: number | undefined,
    clock: Clock,
    staleAfterMs: number,
  ) {
    super(clock, staleAfterMs);
  }
}

/** Counter values a report keeps to compute the next report's rates. */
interface Baseline {
  ts: number;
  promptTokens: number;
  generationTokens: number;
  ttftMsSum: number;
  ttftCount: number;
  itlMsSum: number;
  itlCount: number;
}

function baseline(ts: number, c: EngineCounters): Baseline {
  return {
    ts,
    promptTokens: c.promptTokens,
    generationTokens: c.generationTokens,
    ttftMsSum: c.ttftMsSum,
    ttftCount: c.ttftCount,
    itlMsSum: c.itlMsSum,
    itlCount: c.itlCount,
  };
}

/**
 * Turns an engine's successive snapshots into load reports the way the live path does (sidecar or gateway
 * scrape → `LoadTracker` with no smoothing window → `EngineStateStore.applySnapshot`): gauges as they are;
 * token rates from counter deltas over the interval since the previous report; TTFT and ITL as the mean of the
 * observations made in that interval (null when there were none); the first report has zero rates and no means.
 * Adapters are the ones the engine serves (what the gateway learns from `/v1/models`).
 */
export class LoadReporter {
  private previous: Baseline | null = null;

  constructor(readonly view: SimEngineView) {}

  report(snapshot: EngineSnapshot, nowMs: number): void {
    const v = this.view;
    const c = snapshot.counters;
    v.running = snapshot.running;
    v.waiting = snapshot.waiting;
    v.kvUsage = Math.min(1, Math.max(0, snapshot.kvCacheUsage));
    const p = this.previous;
    if (p === null || nowMs <= p.ts) {
      if (p === null) {
        v.promptTokensPerSec = 0;
        v.generationTokensPerSec = 0;
        v.ttftMs = null;
        v.itlMs = null;
      }
    } else {
      const seconds = (nowMs - p.ts) / 1000;
      v.promptTokensPerSec = (c.promptTokens - p.promptTokens) / seconds;
      v.generationTokensPerSec = (c.generationTokens - p.generationTokens) / seconds;
      const ttftCount = c.ttftCount - p.ttftCount;
      v.ttftMs = ttftCount > 0 ? (c.ttftMsSum - p.ttftMsSum) / ttftCount : null;
      const itlCount = c.itlCount - p.itlCount;
      v.itlMs = itlCount > 0 ? (c.itlMsSum - p.itlMsSum) / itlCount : null;
    }
    if (p === null || nowMs > p.ts) this.previous = baseline(nowMs, c);
    v.loadedAdapters.clear();
    for (const a of snapshot.lora.registered) v.loadedAdapters.add(a);
    v.stateReceivedAt = nowMs;
  }
}
