import { coefficientOfVariation, summarize, type Summary } from '@brix/cluster-sim';

/** What one request did, as the client (live) or the simulated gateway saw it. Times in ms. */
export interface Outcome {
  arrivalMs: number;
  ok: boolean;
  engineId: string | null;
  ttftMs: number | null;
  /** Mean inter-token latency of the request. */
  itlMs: number | null;
  e2eMs: number;
  promptTokens: number;
  cachedTokens: number;
  outputTokens: number;
  finishedMs: number;
}

/** One strategy on one workload. */
export interface Row {
  mode: 'sim' | 'live';
  workload: string;
  strategy: string;
  /** Requests measured (arrived after the warm-up), and how many of them failed or were refused. */
  requests: number;
  errors: number;
  ttftMs: Summary;
  itlMs: Summary;
  e2eMs: Summary;
  requestsPerSec: number;
  outputTokensPerSec: number;
  /** Cached prompt tokens / prompt tokens. */
  prefixHitRate: number;
  /** σ / mean of requests per engine. */
  loadCv: number;
  /** Requests per engine, by engine id order. */
  perEngine: number[];
}

/** Summarizes the requests that arrived in [fromMs, toMs): the warm-up before fromMs fills caches and queues. */
export function summarizeOutcomes(
  base: Pick<Row, 'mode' | 'workload' | 'strategy'>,
  outcomes: readonly Outcome[],
  engineIds: readonly string[],
  fromMs: number,
  toMs: number,
): Row {
  const measured = outcomes.filter((o) => o.arrivalMs >= fromMs && o.arrivalMs < toMs);
  const ok = measured.filter((o) => o.ok);
  const perEngine = new Map(engineIds.map((id) => [id, 0]));
  let prompt = 0;
  let cached = 0;
  let output = 0;
  let lastFinish = fromMs;
  for (const o of ok) {
    if (o.engineId !== null) perEngine.set(o.engineId, (perEngine.get(o.engineId) ?? 0) + 1);
    prompt += o.promptTokens;
    cached += o.cachedTokens;
    output += o.outputTokens;
    lastFinish = Math.max(lastFinish, o.finishedMs);
  }
  const seconds = Math.max(1e-9, (lastFinish - fromMs) / 1000);
  const counts = [...perEngine.values()];
  return {
    ...base,
    requests: measured.length,
    errors: measured.length - ok.length,
    ttftMs: summarize(ok.map((o) => o.ttftMs).filter((v): v is number => v !== null)),
    itlMs: summarize(ok.map((o) => o.itlMs).filter((v): v is number => v !== null)),
    e2eMs: summarize(ok.map((o) => o.e2eMs)),
    requestsPerSec: ok.length / seconds,
    outputTokensPerSec: output / seconds,
    prefixHitRate: prompt > 0 ? cached / prompt : 0,
    loadCv: coefficientOfVariation(counts),
    perEngine: counts,
  };
}
