import { ClusterSim, type RequestRecord, routerPolicy, type SimEngineSpec } from '@brix/cluster-sim';
import { createRouter } from '@brix/routing';
import { buildWorkload, type WorkloadKind } from '@brix/workloads';
import { type Progress } from './progress';
import { type Outcome, type Row, summarizeOutcomes } from './results';
import { kvTokensPerEngine, type Plan, strategiesFor, workloadSpec } from './scenario';

export interface SimPlan extends Plan {
  /** Simulated seconds of the saturated capacity probe (completions counted over its second half). */
  probeS: number;
}

export interface SimResult {
  kvTokensPerEngine: number;
  capacity: Record<string, { requestsPerSec: number; offeredPerSec: number }>;
  rate: Record<string, number>;
  rows: Row[];
}

function simEngines(plan: Pick<SimPlan, 'engines' | 'model' | 'gpu'>): SimEngineSpec[] {
  return Array.from({ length: plan.engines }, (_, i) => ({ id: `e${i}`, model: plan.model, gpu: plan.gpu }));
}

function toOutcome(r: RequestRecord): Outcome {
  return {
    arrivalMs: r.arrivalMs,
    ok: r.status === 'ok',
    engineId: r.engineId,
    ttftMs: r.ttftMs,
    itlMs: r.itlMs,
    e2eMs: r.e2eMs,
    promptTokens: r.promptTokens,
    cachedTokens: r.cachedTokens,
    outputTokens: r.outputTokens,
    finishedMs: r.finishedMs,
  };
}

/** One simulation: `strategy` over the workload at `requestRate` req/s for `durationMs`; records of every request. */
function simulate(
  plan: SimPlan,
  kind: WorkloadKind,
  strategy: string,
  requestRate: number,
  durationMs: number,
  onFinished?: (r: RequestRecord) => void,
): RequestRecord[] {
  const kv = kvTokensPerEngine(plan.model, plan.gpu);
  const spec = workloadSpec(kind, plan.engines, kv);
  const probe = buildWorkload(spec, { seed: plan.seed, arrivals: { kind: 'poisson', ratePerSec: 1 }, durationMs: 1 });
  const built = buildWorkload(spec, {
    seed: plan.seed,
    arrivals: { kind: 'poisson', ratePerSec: requestRate / probe.requestsPerArrival },
    durationMs,
  });
  const records: RequestRecord[] = [];
  new ClusterSim(
    { engines: simEngines(plan), seed: plan.seed, recordRequests: false },
    {
      policy: routerPolicy(createRouter(), { strategy }),
      workload: built.workload,
      observers: {
        onFinished: (r) => {
          records.push(r);
          onFinished?.(r);
        },
      },
    },
  ).run();
  return records;
}

/**
 * Saturated throughput with least-request, req/s: offered load far above capacity, completions over the second half
 * of the probe. Doubles the offered rate until the cluster, not the offer, is the limit (completions below 70% of
 * what was offered).
 */
export function measureCapacity(
  plan: SimPlan,
  kind: WorkloadKind,
  progress?: Progress,
): { requestsPerSec: number; offeredPerSec: number } {
  let offered = 20 * plan.engines;
  const horizon = plan.probeS * 1000;
  for (;;) {
    let done = 0;
    simulate(plan, kind, 'least-request', offered, horizon, (r) => {
      if (r.status === 'ok' && r.finishedMs >= horizon / 2 && r.finishedMs < horizon) done++;
      progress?.update(`${kind}: capacity probe at ${offered} req/s`, Math.min(1, r.finishedMs / horizon));
    });
    const capacity = done / (plan.probeS / 2);
    if (capacity < 0.7 * offered || offered > 5000 * plan.engines) return { requestsPerSec: capacity, offeredPerSec: offered };
    offered *= 2;
  }
}

/** Every workload: its capacity, then every strategy at `load` × that capacity. */
export function runSimBench(plan: SimPlan, progress?: Progress): SimResult {
  const result: SimResult = { kvTokensPerEngine: kvTokensPerEngine(plan.model, plan.gpu), capacity: {}, rate: {}, rows: [] };
  const engineIds = simEngines(plan).map((e) => e.id!);
  for (const kind of plan.workloads) {
    const cap = measureCapacity(plan, kind, progress);
    result.capacity[kind] = cap;
    const rate = plan.load * cap.requestsPerSec;
    result.rate[kind] = rate;
    progress?.done(`${kind}: capacity`, `${cap.requestsPerSec.toFixed(1)} req/s saturated (least-request)`);
    for (const strategy of strategiesFor(kind, plan.strategies, plan.explicitStrategies)) {
      const durationMs = plan.durationS * 1000;
      const records = simulate(plan, kind, strategy, rate, durationMs, (r) =>
        progress?.update(`${kind} · ${strategy}`, Math.min(1, r.arrivalMs / durationMs)),
      );
      const row = summarizeOutcomes(
        { mode: 'sim', workload: kind, strategy },
        records.map(toOutcome),
        engineIds,
        plan.warmupS * 1000,
        durationMs,
      );
      result.rows.push(row);
      progress?.done(`${kind} · ${strategy}`, `TTFT p50 ${row.ttftMs.p50.toFixed(0)} ms, p99 ${row.ttftMs.p99.toFixed(0)} ms`);
    }
  }
  return result;
}
