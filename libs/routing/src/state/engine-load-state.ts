import { type Clock } from '@brix/clock';

/**
 * The load half of an {@link EngineView} as a gateway keeps it, live or simulated: gauges, token rates and latency
 * means from the engine's latest load report (lagging by up to the reporting interval), in-flight counts kept by the
 * gateway itself (exact), and the freshness rule. One long-lived object per engine, updated in place, so building
 * the candidates for a decision allocates nothing per engine. The gateway's EngineRecord and the cluster
 * simulation's SimEngineView extend it with identity.
 */
export abstract class EngineLoadState {
  running = 0;
  waiting = 0;
  kvUsage = 0;
  promptTokensPerSec = 0;
  generationTokensPerSec = 0;
  ttftMs: number | null = null;
  itlMs: number | null = null;
  readonly loadedAdapters = new Set<string>();
  inFlight = 0;
  inFlightTokens = 0;
  /** Clock time the latest load state arrived; undefined before any (the engine then counts as stale). */
  stateReceivedAt?: number;

  constructor(
    protected readonly clock: Clock,
    protected readonly staleAfterMs: number,
  ) {}

  /** Load state older than the freshness bound, or none yet: routing treats the engine as saturated. */
  get stale(): boolean {
    return this.stateReceivedAt === undefined || this.clock.now() - this.stateReceivedAt > this.staleAfterMs;
  }

  get stateAgeMs(): number | null {
    return this.stateReceivedAt === undefined ? null : this.clock.now() - this.stateReceivedAt;
  }
}
