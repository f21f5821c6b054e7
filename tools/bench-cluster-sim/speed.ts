// Wall-clock cost of simulated traffic: one hour (by default) on 8 engines at a fraction of the cluster's measured
// capacity, run side by side in one process through (a) the bare engine models with round-robin — the floor any
// cluster simulation pays — and (b) the full cluster simulation (views, load reports, routing hooks, reports) with
// several policies, including the gateway's real Router. Run: node tools/bench-cluster-sim/run.mjs speed [--write]
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { VirtualClock } from '@brix/clock';
import {
  ClusterSim,
  type RoutingPolicy,
  type SimReport,
  formatReport,
  poissonWorkload,
  roundRobinPolicy,
  routerPolicy,
} from '@brix/cluster-sim';
import { SimEngine } from '@brix/engine-model';
import { createRouter } from '@brix/routing';
import { fixed, machine, parseBenchOptions, writeSection } from '@brix/bench-kit';
import { chatWorkload, engines } from './scenario';

const START = '<!-- speed-table:start -->';
const END = '<!-- speed-table:end -->';

interface Timed {
  name: string;
  wallMs: number;
  cpuMs: number;
  requests: number;
  outputTokens: number;
  report?: SimReport;
}

function timed(name: string, run: () => Omit<Timed, 'name' | 'wallMs' | 'cpuMs'>): Timed {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const out = run();
  const wallMs = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { name, wallMs, cpuMs: (c.user + c.system) / 1000, ...out };
}

/**
 * Saturated throughput of the cluster, requests/s: offered load well above capacity for `probeS` seconds with
 * least-request routing, counting completions in the second half (the first half fills the engines).
 */
function measureCapacity(n: number, model: string, gpu: string, seed: number, offeredPerSec: number, probeS: number): number {
  const horizon = probeS * 1000;
  let done = 0;
  const sim = new ClusterSim(
    { engines: engines(n, model, gpu), seed, recordRequests: false },
    {
      policy: routerPolicy(createRouter(), { strategy: 'least-request' }),
      workload: poissonWorkload(chatWorkload(offeredPerSec, horizon, seed)),
      observers: {
        onFinished: (r) => {
          if (r.status === 'ok' && r.finishedMs >= horizon / 2 && r.finishedMs < horizon) done++;
        },
      },
    },
  );
  sim.run();
  return done / (probeS / 2);
}

/** The floor: the same requests on the same engines, round-robin, nothing but the engine models and a clock. */
function bareEngines(n: number, model: string, gpu: string, seed: number, rate: number, durationMs: number) {
  const clock = new VirtualClock(0);
  const list = Array.from(
    { length: n },
    (_, i) => new SimEngine({ model, gpu, frontendLatencyMs: 20, seed: seed * 1000 + i }, { clock }),
  );
  const it = poissonWorkload(chatWorkload(rate, durationMs, seed)).requests();
  let sent = 0;
  let outputTokens = 0;
  const pull = (): void => {
    const next = it.next();
    if (next.done) return;
    const r = next.value;
    clock.setTimer(r.arrivalMs - clock.now(), () => {
      list[sent++ % n]!.submit(
        { id: r.id!, promptTokenIds: r.promptTokenIds, naturalOutputTokens: r.outputTokens, arrivalTimeMs: clock.now() },
        { onFinish: (f) => (outputTokens += f.outputTokens) },
      );
      pull();
    });
  };
  pull();
  clock.runAll();
  return { requests: sent, outputTokens };
}

function simulate(
  n: number,
  model: string,
  gpu: string,
  seed: number,
  rate: number,
  durationMs: number,
  policy: RoutingPolicy,
): SimReport {
  return new ClusterSim(
    { engines: engines(n, model, gpu), seed, recordRequests: false },
    { policy, workload: poissonWorkload(chatWorkload(rate, durationMs, seed)) },
  ).run();
}

interface ScenarioResult {
  gpu: string;
  model: string;
  capacity: number;
  rate: number;
  runs: Timed[];
}

function runScenario(
  n: number,
  gpu: string,
  model: string,
  seed: number,
  load: number,
  durationMs: number,
  policies: string[],
  probeRate: number,
): ScenarioResult {
  const t0 = performance.now();
  const capacity = measureCapacity(n, model, gpu, seed, probeRate, 120);
  const rate = load * capacity;
  console.log(
    `${n} × ${model} on ${gpu}: capacity ≈ ${fixed(capacity)} req/s (probe ${fixed((performance.now() - t0) / 1000)} s); running at ${fixed(rate)} req/s`,
  );
  const runs: Timed[] = [];
  const floor = timed('engine models alone, round-robin', () => bareEngines(n, model, gpu, seed, rate, durationMs));
  runs.push(floor);
  console.log(`${floor.name}: ${fixed(floor.wallMs / 1000)} s`);
  for (const name of policies) {
    const policy = name === 'round-robin' ? roundRobinPolicy() : routerPolicy(createRouter(), { strategy: name });
    const run = timed(`cluster-sim, ${name === 'round-robin' ? 'round-robin' : `Router \`${name}\``}`, () => {
      const report = simulate(n, model, gpu, seed, rate, durationMs, policy);
      return { requests: report.requests.total, outputTokens: report.tokens.output, report };
    });
    runs.push(run);
    console.log(`${run.name}: ${fixed(run.wallMs / 1000)} s\n${formatReport(run.report!)}\n`);
  }
  return { gpu, model, capacity, rate, runs };
}

export async function main(opts: { root: string; args: string[] }): Promise<number> {
  const { args } = opts;
  const o = parseBenchOptions(args, {
    hours: { type: 'number', default: 1, min: 0.001, description: 'simulated hours per run' },
    load: { type: 'number', default: 0.75, min: 0.01, description: 'offered load as a fraction of the measured capacity' },
    engines: { type: 'number', default: 8, min: 1, integer: true, description: 'engines per cluster' },
    seed: { type: 'number', default: 1, min: 0, integer: true, description: 'seed of workload and simulation' },
    policies: { type: 'string', default: 'round-robin,least-request,prefix-cache', description: 'policies to time' },
    // GPU:model pairs, heaviest first: an H100 serving Llama-3-8B has the highest token rate in the catalogue.
    scenarios: { type: 'string', default: 'H100:llama-3-8b,A100-80GB:llama-3-8b', description: 'GPU:model pairs' },
    // The probe only needs an offered load above capacity; 0 = 120 req/s per engine, far above any GPU in the catalogue.
    'probe-rate': { type: 'number', default: 0, min: 0, description: 'offered rate of the capacity probe (0: 120 × engines)' },
    write: { type: 'boolean', description: 'write the table into docs/benchmarks/cluster-sim.md' },
  });
  const { hours, load, seed } = o;
  const n = o.engines;
  const policies = o.policies.split(',');
  const scenarios = o.scenarios.split(',').map((x) => x.split(':') as [string, string]);
  const probeRate = o['probe-rate'] || 120 * n;
  const durationMs = hours * 3_600_000;

  const results = scenarios.map(([gpu, model]) => runScenario(n, gpu, model, seed, load, durationMs, policies, probeRate));

  // Same seed, same report: a shorter run twice (the hour-long runs above are not repeated).
  const [gpu0, model0] = scenarios[0]!;
  const rate0 = results[0]!.rate;
  const a = simulate(n, model0, gpu0, seed, rate0, 600_000, routerPolicy(createRouter(), { strategy: 'least-request' }));
  const b = simulate(n, model0, gpu0, seed, rate0, 600_000, routerPolicy(createRouter(), { strategy: 'least-request' }));
  const deterministic = JSON.stringify(a) === JSON.stringify(b);
  console.log(`10 simulated minutes twice with the same seed: reports ${deterministic ? 'identical' : 'DIFFERENT'}`);

  const command = `node tools/bench-cluster-sim/run.mjs speed${args
    .filter((x) => x !== '--write')
    .map((x) => ` ${x}`)
    .join('')}`;
  const lines = [
    `Measured ${new Date().toISOString().slice(0, 10)} with \`${command}\` on ${machine()} (a shared machine: other work ran ` +
      'beside it, so wall times vary by ±30% between runs; compare rows within one run).',
    '',
    `${n} engines per cluster, vLLM defaults; ${hours} simulated hour(s) of Poisson arrivals at ${load} × the capacity measured in the ` +
      `same run (least-request, 120 simulated s at ${probeRate} req/s offered, completions of the second minute).`,
    '',
    '| cluster | run | simulated requests | output tokens | wall s | CPU s | wall ÷ engine models alone | µs per request |',
    '|---|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of results) {
    const floor = r.runs[0]!;
    for (const run of r.runs) {
      lines.push(
        `| ${n} × ${r.model} on ${r.gpu}, ${fixed(r.rate)} req/s (capacity ${fixed(r.capacity)}) | ${run.name} | ${run.requests} | ` +
          `${fixed(run.outputTokens / 1e6)} M | ${fixed(run.wallMs / 1000)} | ${fixed(run.cpuMs / 1000)} | ${fixed(run.wallMs / floor.wallMs, 2)} | ` +
          `${fixed((run.wallMs * 1000) / run.requests)} |`,
      );
    }
  }
  lines.push(
    '',
    'What each policy did with that hour (virtual-time results, ms; mean / p99):',
    '',
    '| cluster | run | TTFT | ITL | e2e | output tok/s | prefix-cache hit rate | CV of requests / of mean running |',
    '|---|---|---:|---:|---:|---:|---:|---:|',
  );
  for (const r of results) {
    for (const run of r.runs) {
      const p = run.report;
      if (!p) continue;
      lines.push(
        `| ${r.model} on ${r.gpu} | ${run.name} | ${fixed(p.ttftMs.mean)} / ${fixed(p.ttftMs.p99)} | ${fixed(p.itlMs.mean)} / ${fixed(p.itlMs.p99)} | ` +
          `${fixed(p.e2eMs.mean)} / ${fixed(p.e2eMs.p99)} | ${fixed(p.throughput.outputTokensPerSec, 0)} | ${fixed(p.prefixCacheHitRate * 100)}% | ` +
          `${fixed(p.loadSpread.requestsCv, 3)} / ${fixed(p.loadSpread.meanRunningCv, 3)} |`,
      );
    }
  }
  lines.push(
    '',
    `Determinism: 10 simulated minutes run twice with seed ${seed} gave ${deterministic ? 'identical' : 'DIFFERENT'} reports.`,
  );
  const table = lines.join('\n');
  console.log(table);
  if (o.write) {
    const path = join(opts.root, 'docs/benchmarks/cluster-sim.md');
    writeSection(path, START, END, table);
    console.log(`wrote ${path}`);
  }
  return deterministic ? 0 : 1;
}
