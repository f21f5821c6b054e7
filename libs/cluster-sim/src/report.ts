import { type FinishReason } from '@brix/engine-model';

/**
 * How a request ended, as the client saw it:
 * - `ok`: answered (finished by EOS or max_tokens);
 * - `rejected`: the gateway refused it before any engine saw it (no engine available, unknown strategy);
 * - `failed`: the engine refused it (prompt too long, unknown adapter, engine shutting down);
 * - `aborted`: its engine was killed while it ran.
 */
export type RequestStatus = 'ok' | 'rejected' | 'failed' | 'aborted';

/**
 * One request's outcome. Times are virtual ms measured at the gateway, as a client beside it would: TTFT
 * and e2e include the engine's frontend time and both network hops; ITL is the request's mean gap between
 * tokens (decode time / (output tokens − 1)); queue time is the engine's (QUEUED → first SCHEDULED).
 */
export interface RequestRecord {
  readonly id: string;
  readonly model: string;
  readonly adapter: string | null;
  readonly user: string | null;
  readonly sessionId: string | null;
  /** Engine chosen by the policy; null when rejected. */
  readonly engineId: string | null;
  readonly status: RequestStatus;
  /** The error code for rejected and failed requests (`no_capacity`, `invalid_request`, …). */
  readonly errorCode: string | null;
  readonly finishReason: FinishReason | null;
  readonly arrivalMs: number;
  /** When the outcome reached the gateway. */
  readonly finishedMs: number;
  readonly ttftMs: number | null;
  readonly itlMs: number | null;
  readonly e2eMs: number;
  readonly queueMs: number | null;
  readonly promptTokens: number;
  readonly outputTokens: number;
  /** Prompt tokens served from the engine's prefix cache. */
  readonly cachedTokens: number;
  readonly preemptions: number;
}

/** Mean and percentiles (linear interpolation between order statistics, as numpy and `vllm bench`). */
export interface Summary {
  readonly count: number;
  readonly mean: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

export interface EngineReport {
  readonly id: string;
  readonly model: string;
  readonly gpu: string;
  /** Requests routed to the engine that it answered (ok) or lost (aborted). */
  readonly requests: number;
  readonly promptTokens: number;
  readonly outputTokens: number;
  readonly cachedTokens: number;
  /**
   * Time-averaged requests in the running batch over the run (Little's law: Σ per request of first scheduled →
   * last token, divided by the run's duration; time spent preempted counts as running).
   */
  readonly meanRunning: number;
  /** Time-averaged requests waiting in the engine's queue (Σ queue time / duration). */
  readonly meanWaiting: number;
  /** Fraction of the run the engine spent executing steps. */
  readonly busyFraction: number;
  readonly preemptions: number;
}

export interface SimReport {
  readonly policy: string;
  readonly workload: string;
  readonly seed: number;
  readonly requests: { readonly total: number } & Readonly<Record<RequestStatus, number>>;
  /** First arrival to the last outcome at the gateway, virtual ms. */
  readonly durationMs: number;
  /** Over answered (`ok`) requests. */
  readonly ttftMs: Summary;
  readonly itlMs: Summary;
  readonly e2eMs: Summary;
  readonly queueMs: Summary;
  readonly throughput: {
    readonly requestsPerSec: number;
    readonly outputTokensPerSec: number;
    readonly promptTokensPerSec: number;
  };
  readonly tokens: { readonly prompt: number; readonly output: number; readonly cached: number };
  /** Cached prompt tokens / prompt tokens over answered requests (vLLM's prefix_cache_hits / queries). */
  readonly prefixCacheHitRate: number;
  readonly engines: readonly EngineReport[];
  /** Coefficients of variation (σ / mean, population) across engines: 0 = perfectly even. */
  readonly loadSpread: { readonly requestsCv: number; readonly meanRunningCv: number; readonly outputTokensCv: number };
  /** One record per request in the order their outcomes reached the gateway; empty unless `recordRequests`. */
  readonly perRequest: readonly RequestRecord[];
}

/** A growable array of doubles (per-request metrics without an object per value). */
export class Samples {
  private data = new Float64Array(1024);
  length = 0;

  push(v: number): void {
    if (this.length === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = v;
  }

  values(): Float64Array {
    return this.data.subarray(0, this.length);
  }
}

/** The q-quantile (0..1) of ascending-sorted values, interpolating linearly between neighbours. */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return 0;
  const pos = (n - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/** Summary of the values (zeros when there are none). */
export function summarize(values: ArrayLike<number>): Summary {
  const n = values.length;
  if (n === 0) return { count: 0, mean: 0, p50: 0, p90: 0, p99: 0, max: 0 };
  const sorted = Float64Array.from(values).sort();
  let sum = 0;
  for (let i = 0; i < n; i++) sum += sorted[i]!;
  return {
    count: n,
    mean: sum / n,
    p50: quantileSorted(sorted, 0.5),
    p90: quantileSorted(sorted, 0.9),
    p99: quantileSorted(sorted, 0.99),
    max: sorted[n - 1]!,
  };
}

/** Population coefficient of variation σ / mean; 0 for no values or a zero mean. */
export function coefficientOfVariation(values: readonly number[]): number {
  const n = values.length;
  if (n === 0) return 0;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  if (mean === 0) return 0;
  const variance = values.reduce((a, v) => a + (v - mean) * (v - mean), 0) / n;
  return Math.sqrt(variance) / mean;
}

const fmt = (v: number, digits = 1) => (Number.isFinite(v) ? v.toFixed(digits) : String(v));

/** A short human-readable summary (several lines) for logs and benchmark output. */
export function formatReport(r: SimReport): string {
  const line = (name: string, s: Summary) =>
    `${name.padEnd(6)} mean ${fmt(s.mean)}  p50 ${fmt(s.p50)}  p90 ${fmt(s.p90)}  p99 ${fmt(s.p99)}  max ${fmt(s.max)}`;
  return [
    `policy ${r.policy} · workload ${r.workload} · seed ${r.seed}`,
    `requests ${r.requests.total} (ok ${r.requests.ok}, rejected ${r.requests.rejected}, failed ${r.requests.failed}, ` +
      `aborted ${r.requests.aborted}) over ${fmt(r.durationMs / 1000)} s`,
    line('TTFT', r.ttftMs) + ' ms',
    line('ITL', r.itlMs) + ' ms',
    line('e2e', r.e2eMs) + ' ms',
    `throughput ${fmt(r.throughput.requestsPerSec, 2)} req/s, ${fmt(r.throughput.outputTokensPerSec, 0)} output tok/s; ` +
      `prefix-cache hit rate ${fmt(r.prefixCacheHitRate * 100)}%`,
    `load spread (CV across ${r.engines.length} engines): requests ${fmt(r.loadSpread.requestsCv, 3)}, ` +
      `mean running ${fmt(r.loadSpread.meanRunningCv, 3)}`,
  ].join('\n');
}
