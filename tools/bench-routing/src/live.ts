import { Agent } from 'node:http';
import { performance } from 'node:perf_hooks';
import { timedStream } from '@brix/bench-kit';
import { ClusterSim, type SimRequest, routerPolicy } from '@brix/cluster-sim';
import { createRouter } from '@brix/routing';
import { freePort, startProcess, type ServiceProcess } from '@brix/testing';
import { buildWorkload, type FinishedTurn, type WorkloadKind } from '@brix/workloads';
import { type Progress } from './progress';
import { type Outcome, type Row, summarizeOutcomes } from './results';
import { kvTokensPerEngine, type Plan, strategiesFor, workloadSpec } from './scenario';

/** A live run: durations in wall-clock seconds. */
export type LivePlan = Plan;

/** The bundled processes to start (dist/apps/engine-sim/main.cjs, dist/apps/gateway/main.cjs). */
export interface LiveScripts {
  engine: string;
  gateway: string;
}

export interface LiveResult {
  /** Saturated req/s of the same engines in simulation (least-request), the base of `load`. */
  capacity: Record<string, number>;
  rate: Record<string, number>;
  rows: Row[];
  wallS: number;
}

const SERVED = 'bench-model';

/** Saturated throughput of the live cluster's configuration, measured in simulation (see docs/benchmarks/cluster-sim.md for agreement). */
function simulatedCapacity(plan: LivePlan, kind: WorkloadKind): number {
  const horizon = 60_000;
  const spec = workloadSpec(kind, plan.engines, kvTokensPerEngine(plan.model, plan.gpu));
  const built = buildWorkload(spec, {
    seed: plan.seed,
    arrivals: { kind: 'poisson', ratePerSec: 15 * plan.engines },
    durationMs: horizon,
  });
  let done = 0;
  new ClusterSim(
    {
      engines: Array.from({ length: plan.engines }, (_, i) => ({ id: `e${i}`, model: plan.model, gpu: plan.gpu })),
      seed: plan.seed,
      recordRequests: false,
    },
    {
      policy: routerPolicy(createRouter(), { strategy: 'least-request' }),
      workload: built.workload,
      observers: {
        onFinished: (r) => void (r.status === 'ok' && r.finishedMs >= horizon / 2 && r.finishedMs < horizon && done++),
      },
    },
  ).run();
  return done / (horizon / 2 / 1000);
}

async function post(url: string): Promise<void> {
  const res = await fetch(url, { method: 'POST' });
  await res.arrayBuffer();
  if (!res.ok) throw new Error(`POST ${url}: ${res.status}`);
}

/** Finished requests per engine, from vLLM's request_success_total counters. */
async function finishedCount(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let sum = 0;
  for (const m of text.matchAll(/^vllm:request_success_total\{[^}]*\} ([0-9.e+]+)$/gm)) sum += Number(m[1]);
  return sum;
}

/** One streamed completion through the gateway, timed by the client. */
async function stream(agent: Agent, gateway: string, strategy: string, r: SimRequest, t0: number): Promise<Outcome> {
  const body = JSON.stringify({
    model: SERVED,
    prompt: Array.from(r.promptTokenIds),
    max_tokens: r.outputTokens,
    ignore_eos: true,
    stream: true,
    stream_options: { include_usage: true },
  });
  const headers: Record<string, string> = { 'routing-strategy': strategy };
  if (r.sessionId) headers['x-session-id'] = r.sessionId;
  const s = await timedStream(agent, `${gateway}/v1/completions`, body, headers);
  if (!s.ok || !s.usage) {
    return {
      arrivalMs: r.arrivalMs,
      ok: false,
      engineId: null,
      ttftMs: null,
      itlMs: null,
      e2eMs: s.endedMs - s.sentMs,
      promptTokens: 0,
      cachedTokens: 0,
      outputTokens: 0,
      finishedMs: s.endedMs - t0,
    };
  }
  const n = s.usage.completionTokens;
  return {
    arrivalMs: r.arrivalMs,
    ok: true,
    engineId: null,
    ttftMs: s.firstMs - s.sentMs,
    itlMs: n > 1 ? (s.lastMs - s.firstMs) / (n - 1) : null,
    e2eMs: s.lastMs - s.sentMs,
    promptTokens: s.usage.promptTokens,
    cachedTokens: s.usage.cachedTokens ?? 0,
    outputTokens: n,
    finishedMs: s.lastMs - t0,
  };
}

/** Plays a workload against the gateway in wall-clock time (closed-loop follow-ups included). */
async function play(
  gateway: string,
  strategy: string,
  kind: WorkloadKind,
  plan: LivePlan,
  rate: number,
  onProgress: (fraction: number) => void,
): Promise<Outcome[]> {
  const spec = workloadSpec(kind, plan.engines, kvTokensPerEngine(plan.model, plan.gpu));
  const perArrival = buildWorkload(spec, { arrivals: { kind: 'poisson', ratePerSec: 1 }, count: 1 }).requestsPerArrival;
  const durationMs = plan.durationS * 1000;
  const { workload } = buildWorkload(spec, {
    seed: plan.seed,
    arrivals: { kind: 'poisson', ratePerSec: rate / perArrival },
    durationMs,
  });
  const agent = new Agent({ keepAlive: true, maxSockets: 512 });
  const outcomes: Outcome[] = [];
  const inFlight = new Set<Promise<void>>();
  const t0 = performance.now() + 50;
  const send = (r: SimRequest): void => {
    const p = (async () => {
      const wait = t0 + r.arrivalMs - performance.now();
      if (wait > 0) await new Promise((res) => setTimeout(res, wait));
      const o = await stream(agent, gateway, strategy, r, t0);
      outcomes.push(o);
      onProgress(Math.min(1, o.finishedMs / durationMs));
      const finished: FinishedTurn = {
        id: r.id!,
        status: o.ok ? 'ok' : 'failed',
        finishedMs: Math.max(o.finishedMs, r.arrivalMs),
        outputTokens: o.outputTokens,
      };
      (workload.onFinished as ((f: FinishedTurn, s: (x: SimRequest) => void) => void) | undefined)?.(finished, (next) => {
        if (next.arrivalMs < durationMs) send(next);
      });
    })();
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  };
  try {
    const it = workload.requests();
    for (let next = it.next(); !next.done; next = it.next()) {
      const r = next.value;
      // Generate lazily: wait until shortly before the request is due.
      const ahead = t0 + r.arrivalMs - performance.now() - 200;
      if (ahead > 0) await new Promise((res) => setTimeout(res, ahead));
      send(r);
    }
    while (inFlight.size > 0) await Promise.all([...inFlight]);
  } finally {
    agent.destroy();
  }
  return outcomes;
}

/** Starts the engines once; per strategy a fresh gateway (its prefix index empty) and emptied engine caches. */
export async function runLiveBench(plan: LivePlan, scripts: LiveScripts, progress?: Progress): Promise<LiveResult> {
  const started = performance.now();
  const procs: ServiceProcess[] = [];
  const urls: string[] = [];
  const result: LiveResult = { capacity: {}, rate: {}, rows: [], wallS: 0 };
  try {
    for (let i = 0; i < plan.engines; i++) {
      const port = await freePort();
      procs.push(
        await startProcess({
          script: scripts.engine,
          args: [
            '--port',
            String(port),
            '--model',
            plan.model,
            '--served-model-name',
            SERVED,
            '--gpu-type',
            plan.gpu,
            '--seed',
            String(i),
            '--enable-prompt-tokens-details',
          ],
          env: { BRIX_LOG_LEVEL: 'warn' },
          readyUrl: `http://127.0.0.1:${port}/health`,
          readyTimeoutMs: 60_000,
        }),
      );
      urls.push(`http://127.0.0.1:${port}`);
    }
    const engineIds = urls.map((_, i) => `e${i}`);
    for (const kind of plan.workloads) {
      const capacity = simulatedCapacity(plan, kind);
      const rate = plan.load * capacity;
      result.capacity[kind] = capacity;
      result.rate[kind] = rate;
      for (const strategy of strategiesFor(kind, plan.strategies, plan.explicitStrategies)) {
        for (const url of urls) await post(`${url}/reset_prefix_cache`);
        const port = await freePort();
        const gateway = await startProcess({
          script: scripts.gateway,
          env: {
            BRIX_GATEWAY_PORT: String(port),
            BRIX_LOG_LEVEL: 'warn',
            NATS_URL: '',
            BRIX_ENGINES: JSON.stringify(urls.map((url, i) => ({ id: `e${i}`, model: SERVED, url, gpuType: plan.gpu }))),
            BRIX_ROUTING_STRATEGY: 'least-request',
          },
          readyUrl: `http://127.0.0.1:${port}/readyz`,
        });
        try {
          const before = await Promise.all(urls.map(finishedCount));
          const outcomes = await play(`http://127.0.0.1:${port}`, strategy, kind, plan, rate, (f) =>
            progress?.update(`live ${kind} · ${strategy}`, f),
          );
          const after = await Promise.all(urls.map(finishedCount));
          const row = summarizeOutcomes(
            { mode: 'live', workload: kind, strategy },
            outcomes,
            engineIds,
            plan.warmupS * 1000,
            plan.durationS * 1000,
          );
          // The client does not see which engine served a request: the spread comes from the engines' own counters
          // (every request of the run, warm-up included).
          const perEngine = after.map((a, i) => a - before[i]!);
          const mean = perEngine.reduce((s, x) => s + x, 0) / perEngine.length;
          const sd = Math.sqrt(perEngine.reduce((s, x) => s + (x - mean) ** 2, 0) / perEngine.length);
          result.rows.push({ ...row, perEngine, loadCv: mean > 0 ? sd / mean : 0 });
          progress?.done(
            `live ${kind} · ${strategy}`,
            `TTFT p50 ${row.ttftMs.p50.toFixed(0)} ms, p99 ${row.ttftMs.p99.toFixed(0)} ms`,
          );
        } finally {
          await gateway.stop();
        }
      }
    }
  } finally {
    await Promise.all(procs.map((p) => p.stop()));
  }
  result.wallS = (performance.now() - started) / 1000;
  return result;
}
