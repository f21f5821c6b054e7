import { type Rng } from '@brix/clock';
import { WorkloadError } from '@brix/cluster-sim';

/**
 * When requests (or, for multi-turn chat, sessions) arrive. Every process is described by its long-run mean rate,
 * so one knob (`ratePerSec`) sizes any of them to a fraction of a cluster's capacity:
 * - `poisson`: exponential gaps at a constant rate;
 * - `on-off`: bursts — a Poisson process whose rate is `burstFactor` times higher during `onMs` windows than during
 *   the `offMs` windows between them (a two-state Markov-modulated shape with fixed phase lengths);
 * - `diurnal`: a daily-cycle ramp — the rate follows a raised cosine from its trough at t = 0 up to its peak at half
 *   a period and back, with peak / trough = `peakToTrough`.
 * All three are generated exactly by thinning a Poisson process at the peak rate.
 */
export type ArrivalProcess =
  | { readonly kind: 'poisson'; readonly ratePerSec: number }
  | {
      readonly kind: 'on-off';
      readonly ratePerSec: number;
      readonly burstFactor: number;
      readonly onMs: number;
      readonly offMs: number;
    }
  | { readonly kind: 'diurnal'; readonly ratePerSec: number; readonly peakToTrough: number; readonly periodMs: number };

/** Why an arrival process is unusable, or null. */
export function arrivalProblem(p: ArrivalProcess): string | null {
  if (!(p.ratePerSec > 0) || !Number.isFinite(p.ratePerSec)) return `ratePerSec must be a positive number (got ${p.ratePerSec})`;
  if (p.kind === 'on-off') {
    if (!(p.burstFactor >= 1)) return `burstFactor must be ≥ 1 (got ${p.burstFactor})`;
    if (!(p.onMs > 0) || !(p.offMs > 0)) return `onMs and offMs must be positive (got ${p.onMs}, ${p.offMs})`;
  }
  if (p.kind === 'diurnal') {
    if (!(p.peakToTrough >= 1)) return `peakToTrough must be ≥ 1 (got ${p.peakToTrough})`;
    if (!(p.periodMs > 0)) return `periodMs must be positive (got ${p.periodMs})`;
  }
  return null;
}

/** The same shape at `factor` times the rate. */
export function scaleArrivals<P extends ArrivalProcess>(p: P, factor: number): P {
  return { ...p, ratePerSec: p.ratePerSec * factor };
}

/** Instantaneous rate (per second) at `tMs` after the start, and the peak rate. */
export function rateAt(p: ArrivalProcess, tMs: number): number {
  switch (p.kind) {
    case 'poisson':
      return p.ratePerSec;
    case 'on-off': {
      const base = (p.ratePerSec * (p.onMs + p.offMs)) / (p.burstFactor * p.onMs + p.offMs);
      const phase = tMs % (p.onMs + p.offMs);
      return phase < p.onMs ? base * p.burstFactor : base;
    }
    case 'diurnal': {
      // trough + (peak − trough)·(1 − cos 2πt/P)/2 averages (trough + peak)/2 = ratePerSec over a period.
      const trough = (2 * p.ratePerSec) / (1 + p.peakToTrough);
      const peak = trough * p.peakToTrough;
      return trough + ((peak - trough) * (1 - Math.cos((2 * Math.PI * tMs) / p.periodMs))) / 2;
    }
  }
}

export function peakRate(p: ArrivalProcess): number {
  switch (p.kind) {
    case 'poisson':
      return p.ratePerSec;
    case 'on-off':
      return ((p.ratePerSec * (p.onMs + p.offMs)) / (p.burstFactor * p.onMs + p.offMs)) * p.burstFactor;
    case 'diurnal':
      return ((2 * p.ratePerSec) / (1 + p.peakToTrough)) * p.peakToTrough;
  }
}

/**
 * Arrival times (ms, increasing) of `p` starting at `startMs`, lazily and without end. Thinning: candidates come at
 * the peak rate and each is kept with probability rate(t) / peak, which gives exactly the time-varying rate.
 * A Poisson process draws one value per arrival; the others two per candidate.
 */
export function* arrivalTimes(p: ArrivalProcess, rng: Rng, startMs = 0): Generator<number, never> {
  const problem = arrivalProblem(p);
  if (problem) throw new WorkloadError(`arrival process ${p.kind}: ${problem}`);
  const peak = peakRate(p);
  const meanGapMs = 1000 / peak;
  let t = startMs;
  for (;;) {
    t += rng.exponential(meanGapMs);
    if (p.kind === 'poisson' || rng.next() * peak < rateAt(p, t - startMs)) yield t;
  }
}
