/**
 * A per-engine circuit breaker. After `failureThreshold` consecutive failures the engine is skipped
 * for `openMs` (doubling on each re-open, up to `maxOpenMs`); then one trial request is let through
 * (half-open): success closes the circuit, failure re-opens it. Times come from the caller's clock.
 */
export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerOptions {
  failureThreshold: number;
  openMs: number;
  maxOpenMs: number;
}

export const DEFAULT_BREAKER: BreakerOptions = { failureThreshold: 5, openMs: 2_000, maxOpenMs: 30_000 };

export class CircuitBreaker {
  private failures = 0;
  private openedAt = 0;
  private currentOpenMs: number;
  private mode: BreakerState = 'closed';
  private trialInFlight = false;

  constructor(private readonly options: BreakerOptions = DEFAULT_BREAKER) {
    this.currentOpenMs = options.openMs;
  }

  state(now: number): BreakerState {
    if (this.mode === 'open' && now - this.openedAt >= this.currentOpenMs) return 'half-open';
    return this.mode;
  }

  /** Whether a request may go to the engine now. In half-open state, only one trial at a time. */
  allows(now: number): boolean {
    const s = this.state(now);
    if (s === 'closed') return true;
    if (s === 'half-open') return !this.trialInFlight;
    return false;
  }

  /** Call when a request is sent; in half-open state it becomes the trial. */
  onAttempt(now: number): void {
    if (this.state(now) === 'half-open') {
      this.mode = 'half-open';
      this.trialInFlight = true;
    }
  }

  onSuccess(): void {
    this.failures = 0;
    this.trialInFlight = false;
    this.mode = 'closed';
    this.currentOpenMs = this.options.openMs;
  }

  onFailure(now: number): void {
    this.failures++;
    const wasTrial = this.mode === 'half-open';
    this.trialInFlight = false;
    if (wasTrial) {
      this.currentOpenMs = Math.min(this.currentOpenMs * 2, this.options.maxOpenMs);
      this.open(now);
    } else if (this.failures >= this.options.failureThreshold) {
      this.open(now);
    }
  }

  private open(now: number): void {
    this.mode = 'open';
    this.openedAt = now;
  }
}
