import { type EngineView } from './types';

/** Capacity used to normalise load: EngineView.capacity when positive and finite, else 1 (the reference engine). */
export function capacityOf(engine: EngineView): number {
  return engine.capacity > 0 && Number.isFinite(engine.capacity) ? engine.capacity : 1;
}

/**
 * Requests an engine holds: max(running + waiting, inFlight). The engine's own counts include every
 * gateway replica's requests but lag by the reporting interval; this router's in-flight count is exact
 * for its own requests and has no lag. Summing them would count this router's requests twice whenever
 * the snapshot is fresh, so we take the larger: neither source can make the estimate too low.
 * With `capacityAware`, divided by capacity (requests per reference engine).
 */
export function requestLoad(engine: EngineView, capacityAware = true): number {
  const n = Math.max(engine.running + engine.waiting, engine.inFlight);
  return capacityAware ? n / capacityOf(engine) : n;
}

/** Tokens (prompt + expected output) this router has in flight on the engine, per unit of capacity when asked. */
export function tokenLoad(engine: EngineView, capacityAware = true): number {
  return capacityAware ? engine.inFlightTokens / capacityOf(engine) : engine.inFlightTokens;
}

/**
 * Maps "lower is better" raw values to scores in [0, 1] by min–max over the fresh candidates:
 * the lowest gets 1, the highest 0; when all fresh values are equal each gets 1. Stale engines and
 * non-finite values count as saturated and get 0 — never better than the most loaded fresh engine.
 */
export function scoreLowerIsBetter(raw: ArrayLike<number>, candidates: readonly EngineView[], out?: Float64Array): Float64Array {
  const n = candidates.length;
  const scores = out ?? new Float64Array(n);
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = raw[i]!;
    if (candidates[i]!.stale || !Number.isFinite(v)) continue;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const span = max - min;
  for (let i = 0; i < n; i++) {
    const v = raw[i]!;
    if (candidates[i]!.stale || !Number.isFinite(v)) scores[i] = 0;
    else scores[i] = span > 0 ? (max - v) / span : 1;
  }
  return scores;
}

/** scoreLowerIsBetter over requestLoad: 1 for the least loaded fresh engine, 0 for the most loaded and for stale ones. */
export function requestLoadScores(candidates: readonly EngineView[], capacityAware = true): Float64Array {
  const raw = new Float64Array(candidates.length);
  for (let i = 0; i < candidates.length; i++) raw[i] = requestLoad(candidates[i]!, capacityAware);
  return scoreLowerIsBetter(raw, candidates);
}

/** Mean and population standard deviation of the fresh candidates' request loads (0, 0 when none is fresh). */
export function loadStats(
  loads: ArrayLike<number>,
  candidates: readonly EngineView[],
): { min: number; mean: number; sd: number } {
  let n = 0;
  let sum = 0;
  let min = Infinity;
  for (let i = 0; i < candidates.length; i++) {
    if (candidates[i]!.stale) continue;
    const v = loads[i]!;
    n++;
    sum += v;
    if (v < min) min = v;
  }
  if (n === 0) return { min: 0, mean: 0, sd: 0 };
  const mean = sum / n;
  let sq = 0;
  for (let i = 0; i < candidates.length; i++) {
    if (candidates[i]!.stale) continue;
    const d = loads[i]! - mean;
    sq += d * d;
  }
  return { min, mean, sd: Math.sqrt(sq / n) };
}

/** For reasons and logs: at most two decimals. */
export function fmt(value: number): string {
  return Number.isFinite(value) ? String(Math.round(value * 100) / 100) : String(value);
}
