// Public surface of @brix/bench-routing: `brix bench routing` — the gateway's routing strategies over seeded workloads,
// simulated (cluster-sim in virtual time with the real Router) or live (gateway + engine-sim processes over HTTP).
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { WORKLOAD_KINDS, type WorkloadKind } from '@brix/workloads';
import { type LiveScripts, runLiveBench } from './live';
import { writePlots } from './plots';
import { Progress } from './progress';
import { fixed, machine, ratiosTable, rowsTable, writeSection } from './report';
import { type Row } from './results';
import {
  DEFAULT_STRATEGIES,
  EXTRA_STRATEGIES,
  kvTokensPerEngine,
  parseStrategies,
  sharedPrefixTenants,
  strategiesFor,
} from './scenario';
import { runSimBench, type SimPlan } from './sim';

export { type Outcome, type Row, summarizeOutcomes } from './results';
export { Progress } from './progress';
export { runSimBench, type SimPlan, type SimResult } from './sim';
export { runLiveBench, type LivePlan, type LiveScripts } from './live';
export { parseStrategies, sharedPrefixTenants } from './scenario';

export type Mode = 'sim' | 'live';

export interface RoutingBenchOptions {
  mode: Mode;
  workloads: WorkloadKind[];
  strategies: string[];
  explicitStrategies: boolean;
  seed: number;
  durationS: number;
  warmupS: number;
  engines: number;
  gpu: string;
  model: string;
  load: number;
  write: boolean;
}

export const MODE_DEFAULTS: Record<Mode, Pick<RoutingBenchOptions, 'workloads' | 'durationS' | 'engines' | 'gpu'>> = {
  sim: { workloads: ['shared-prefix', 'multi-turn', 'sharegpt', 'bird-sql'], durationS: 600, engines: 8, gpu: 'A100-40GB' },
  live: { workloads: ['shared-prefix', 'sharegpt'], durationS: 40, engines: 3, gpu: 'A10' },
};

/** Thrown for a bad option; the CLI prints it with the usage hint. */
export class RoutingBenchUsageError extends Error {
  override readonly name = 'RoutingBenchUsageError';
}

/** Validates raw option values (strings from the command line) into options, with mode-dependent defaults. */
export function resolveRoutingBenchOptions(raw: Record<string, string | boolean | undefined>): RoutingBenchOptions {
  const mode = (raw['mode'] ?? 'sim') as Mode;
  if (mode !== 'sim' && mode !== 'live')
    throw new RoutingBenchUsageError(`--mode must be sim or live (got ${JSON.stringify(mode)})`);
  const d = MODE_DEFAULTS[mode];
  const num = (name: string, fallback: number, check: (n: number) => boolean, what: string): number => {
    const v = raw[name];
    if (v === undefined) return fallback;
    const n = Number(v);
    if (typeof v !== 'string' || v.trim() === '' || !Number.isFinite(n) || !check(n))
      throw new RoutingBenchUsageError(`--${name} must be ${what} (got ${JSON.stringify(v)})`);
    return n;
  };
  const workloads = typeof raw['workloads'] === 'string' ? raw['workloads'].split(',').map((w) => w.trim()) : d.workloads;
  const unknown = workloads.filter((w) => !(WORKLOAD_KINDS as readonly string[]).includes(w));
  if (unknown.length > 0 || workloads.length === 0)
    throw new RoutingBenchUsageError(
      `--workloads: unknown ${unknown.join(', ') || '(none given)'} (known: ${WORKLOAD_KINDS.join(', ')})`,
    );
  const explicitStrategies = typeof raw['strategies'] === 'string';
  const strategies = explicitStrategies ? parseStrategies(raw['strategies'] as string) : [...DEFAULT_STRATEGIES];
  if (strategies.length === 0) throw new RoutingBenchUsageError('--strategies: give at least one strategy');
  const durationS = num('duration', d.durationS, (n) => n > 0, 'a positive number of seconds');
  return {
    mode,
    workloads: workloads as WorkloadKind[],
    strategies,
    explicitStrategies,
    seed: num('seed', 1, (n) => Number.isInteger(n), 'an integer'),
    durationS,
    warmupS: num('warmup', durationS / 5, (n) => n >= 0 && n < durationS, 'a number of seconds below --duration'),
    engines: num('engines', d.engines, (n) => Number.isInteger(n) && n >= 1 && n <= 64, 'an integer from 1 to 64'),
    gpu: typeof raw['gpu'] === 'string' ? raw['gpu'] : d.gpu,
    model: typeof raw['model'] === 'string' ? raw['model'] : 'llama-3-8b',
    load: num('load', 0.8, (n) => n > 0 && n <= 2, 'a fraction of capacity in (0, 2]'),
    write: raw['write'] === true,
  };
}

function setup(o: RoutingBenchOptions, kv: number): string {
  const t = sharedPrefixTenants(o.engines, kv);
  return (
    `${o.engines} × ${o.model} on ${o.gpu} (vLLM defaults: ${kv} KV-cache tokens per engine), seed ${o.seed}, ` +
    `${o.durationS} s of arrivals per run (${o.mode === 'sim' ? 'simulated' : 'wall-clock'}), the first ${fixed(o.warmupS, 0)} s not measured; ` +
    `shared-prefix: ${t.tenants} tenants (working set ${fixed(t.factor, 1)}× one engine's KV cache).`
  );
}

/** Runs the benchmark; writes docs/benchmarks/routing.md sections and plots when `write`. Resolves with the rows. */
export async function benchRouting(
  o: RoutingBenchOptions,
  deps: { root: string; command: string; out: (line: string) => void; liveScripts?: () => Promise<LiveScripts> },
): Promise<Row[]> {
  const t0 = performance.now();
  const runs = o.workloads.reduce(
    (n, w) => n + strategiesFor(w, o.strategies, o.explicitStrategies).length + (o.mode === 'sim' ? 1 : 0),
    0,
  );
  const progress = new Progress(runs);
  const kv = kvTokensPerEngine(o.model, o.gpu);
  let rows: Row[];
  let capacityLines: string[];
  let extra = '';
  if (o.mode === 'sim') {
    const plan: SimPlan = { ...o, probeS: 60 };
    const r = runSimBench(plan, progress);
    rows = r.rows;
    capacityLines = o.workloads.map(
      (w) =>
        `- ${w}: saturated capacity ${fixed(r.capacity[w]!.requestsPerSec)} req/s (least-request, ${plan.probeS} simulated s offered ` +
        `${r.capacity[w]!.offeredPerSec} req/s, completions of the second half) → offered ${fixed(r.rate[w]!)} req/s`,
    );
  } else {
    if (!deps.liveScripts)
      throw new RoutingBenchUsageError('live mode needs the bundled engine-sim and gateway (run through `brix`)');
    const r = await runLiveBench(o, await deps.liveScripts(), progress);
    rows = r.rows;
    capacityLines = o.workloads.map(
      (w) =>
        `- ${w}: saturated capacity of the same engines ${fixed(r.capacity[w]!)} req/s (least-request, measured in simulation) → ` +
        `offered ${fixed(r.rate[w]!)} req/s`,
    );
    extra = `Live wall time ${fixed(r.wallS, 0)} s.`;
  }
  const wallS = (performance.now() - t0) / 1000;
  const body = [
    `Measured ${new Date().toISOString().slice(0, 10)} with \`${deps.command}\` on ${machine()}; ${o.mode === 'sim' ? 'the whole run' : 'the run'} took ${fixed(wallS, 0)} s of wall time. ${extra}`,
    '',
    `Setup: ${setup(o, kv)} Offered load: ${o.load} × the saturated capacity, per workload:`,
    '',
    ...capacityLines,
    '',
    'Times in ms; ITL is the mean of per-request mean inter-token latencies; CV = σ / mean of requests per engine.',
    '',
    rowsTable(rows),
    '',
    'Against `least-request` (negative = lower than least-request):',
    '',
    ratiosTable(rows),
  ];
  deps.out(body.join('\n'));
  if (o.write) {
    const dir = join(deps.root, 'docs/benchmarks/routing');
    const names = await writePlots(dir, o.mode, rows);
    body.push(
      '',
      ...names.map((n) => `![${n}](routing/${n}.svg) ([PNG](routing/${n}.png), [Vega-Lite spec](routing/${n}.vl.json))`),
    );
    const path = join(deps.root, 'docs/benchmarks/routing.md');
    writeSection(path, `${o.mode}-results`, body.join('\n'));
    deps.out(`wrote ${path} and ${names.length} plots in ${dir}`);
  }
  return rows;
}

export { EXTRA_STRATEGIES };
