// The calibration of @brix/engine-model: published vLLM measurements, each re-run as the same workload against
// the engine model in virtual time, with the error per row. Run through `node tools/calibrate/run.mjs [--write]`.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type EngineConfig, defaultCalibration, estimateCapacity, resolveEngineConfig } from '@brix/engine-model';
import { Rng } from '@brix/clock';
import { type BenchRequest, type BenchResult, BenchSession, fixed, mean, percentile, runBench } from './bench';
import { runSpeed, speedScenarios } from './speed';

/** Where each published figure comes from. */
const sources = {
  LL24:
    'Lambda Labs, `LambdaLabsML/vllm-benchmark` on GitHub, result files `results/prompt_10/1xH100-80GB-SXM/Meta-Llama-3-8B-Instruct_tp1_len2048.json` ' +
    '(2024-09-07) and `results/prompt_10/1xA100-80GB-SXM/Meta-Llama-3-8B-Instruct_tp1_len2048.json` (2024-09-08): vLLM v0.6.0 ' +
    '(V0 engine, multi-step scheduling 10, per the repo’s `benchmark_v0.md`), `benchmark_serving.py`, 10 ShareGPT prompts at ' +
    'request rate inf, gpu-memory-utilization 0.95, max-model-len 2048. The files list each request’s input and output length, ' +
    'which the simulation replays.',
  CS26:
    'cssnoeasy, `cssnoeasy/a100-vllm-benchmark-blog` on GitHub, `docs/reports/a100-tp1-vs-tp2-formal-baseline.md` (July 2026): ' +
    'vLLM 0.19.0 (V1), Qwen2.5-7B-Instruct FP16 on A100 80GB PCIe (TP2 over PCIe, no NVLink), gpu-memory-utilization 0.75, ' +
    'max-model-len 4096, `vllm bench serve` random dataset, 100 prompts per run, 3 runs per cell (means of the runs; for the ' +
    'short workload the two runs after the report’s flagged warm-up outlier).',
  JM26:
    'John Musgrave, “vLLM throughput-latency sweep on NVIDIA A100”, johnmusgrave.com/p/vllm-throughput-latency-sweep-on: ' +
    'A100 40GB, Llama-3.1-8B-Instruct BF16, vLLM 0.23.0 defaults, random 1024-token input / 128-token output with --ignore-eos, ' +
    'max-concurrency C with 20×C prompts. Figures from its summary: “decode at one request … about 75 tokens/sec” and “a 6.6x ' +
    'gain” in throughput from C=1 to C=8.',
  WMX:
    'ai.wmx.dev/benchmarks, “serving/raw-vllm” concurrency sweep: 1× L4, Qwen2.5-0.5B-Instruct BF16, vLLM v0.23.0 (V1), ' +
    '--gpu-memory-utilization 0.6 --max-model-len 8192, 256-token input / 128-token output with --ignore-eos, closed loop at ' +
    'fixed max-concurrency (prompt count not stated; 20×C simulated).',
} as const;
type SourceKey = keyof typeof sources;

/**
 * API-server time added to every request (vLLM's frontend: tokenization, the hop to the engine core and back),
 * engine config `frontendLatencyMs`. One value per engine generation, each fitted on one source's low-load TTFT:
 * the V1 engine (vLLM ≥ 0.10) on WMX at C=1, the V0 engine of vLLM 0.6.0 on LL24 (where H100 and A100 show the
 * same gap, as a GPU-independent constant should).
 */
export const FRONTEND_MS = { v1: 20, v0: 35 } as const;

type MetricKey = 'ttftMean' | 'ttftP50' | 'tpotMedian' | 'tpotP99' | 'itlP50' | 'outTput' | 'reqTput' | 'decodeRate';

const metricLabel: Record<MetricKey, string> = {
  ttftMean: 'mean TTFT (ms)',
  ttftP50: 'median TTFT (ms)',
  tpotMedian: 'median TPOT (ms)',
  tpotP99: 'P99 TPOT (ms)',
  itlP50: 'median ITL (ms)',
  outTput: 'output throughput (tok/s)',
  reqTput: 'request throughput (req/s)',
  decodeRate: 'single-stream decode rate, 1000/median TPOT (tok/s)',
};

function metric(r: BenchResult, m: MetricKey): number {
  switch (m) {
    case 'ttftMean':
      return mean(r.ttftMs);
    case 'ttftP50':
      return percentile(r.ttftMs, 50);
    case 'tpotMedian':
      return percentile(r.tpotMs, 50);
    case 'tpotP99':
      return percentile(r.tpotMs, 99);
    case 'itlP50':
      return percentile(r.itlMs, 50);
    case 'outTput':
      return r.outputThroughput;
    case 'reqTput':
      return r.requestThroughput;
    case 'decodeRate':
      return 1000 / percentile(r.tpotMs, 50);
  }
}

/** Why a row is expected to miss; rows with a note are reported but not part of the fit. */
const notes = {
  grouping:
    'closed loop with identical lengths: requests that finish in the same step are replaced together, so their prefills share one large step; TTFT depends on how the real frontend spreads those arrivals (and on prefix reuse across the report’s repeated runs, see below)',
  reuse:
    'the published rate needs more than 90% of both peak FLOP/s and peak bandwidth if every prompt is prefilled cold (see “CS26” below); the report repeated each workload three times with the same seed against one running server, so prompts were most likely served from the prefix cache in later runs',
  hostCpu:
    'the source ran vLLM on a 4-vCPU host: at 11–30 requests/s of streaming the API server itself queues (TTFT grows 5× from C=1 to C=32 while ITL grows 1.4×); the engine model has a fixed frontend time, not a CPU-bound one',
} as const;
type NoteKey = keyof typeof notes;

interface Scenario {
  id: string;
  source: SourceKey;
  /** Engine generation of the source (sets the frontend time). */
  generation: keyof typeof FRONTEND_MS;
  notes?: Partial<Record<MetricKey, NoteKey>>;
  hardware: string;
  workload: string;
  engine: EngineConfig;
  requests: BenchRequest[];
  maxConcurrency?: number;
  published: Partial<Record<MetricKey, number>>;
}

// LL24 replays: each request's published input and output length (the run's ShareGPT sample), all sent at once.
const ll24Inputs = [13, 25, 27, 10, 329, 29, 399, 328, 4, 205];
const ll24OutputsH100 = [120, 429, 233, 194, 101, 741, 9, 3, 6, 31];
const ll24OutputsA100 = [120, 507, 233, 194, 101, 741, 9, 3, 6, 31];
const replay = (outputs: number[]): BenchRequest[] =>
  ll24Inputs.map((inputTokens, i) => ({ inputTokens, outputTokens: outputs[i]!, ignoreEos: false }));
const ll24Engine = (gpu: string): EngineConfig => ({
  model: 'llama-3-8b',
  gpu,
  gpuMemoryUtilization: 0.95,
  maxModelLen: 2048,
  maxNumSeqs: 1024,
});

const cs26Engine = (tp: number): EngineConfig => ({
  model: 'qwen2.5-7b',
  gpu: 'A100-80GB-PCIe',
  tensorParallelSize: tp,
  gpuMemoryUtilization: 0.75,
  maxModelLen: 4096,
});
const cs26Published: Record<string, Record<number, Partial<Record<MetricKey, number>>>> = {
  // 512 in / 256 out, C=8: runs 2 and 3 (run 1 had an 8 s TTFT outlier the report flags as a warm-up effect).
  short: {
    1: { reqTput: (2.63 + 2.63) / 2, ttftP50: (68.74 + 75.91) / 2, tpotP99: (11.33 + 11.34) / 2 },
    2: { reqTput: (3.65 + 3.66) / 2, ttftP50: (53.87 + 54.43) / 2, tpotP99: (8.1 + 8.09) / 2 },
  },
  // 2048 in / 128 out, C=16: means of 3 runs.
  longShort: {
    1: { reqTput: 7.08, ttftP50: 351.41, tpotP99: 16.8 },
    2: { reqTput: 9.45, ttftP50: 370.51, tpotP99: 13.2 },
  },
  // 2048 in / 512 out, C=32: means of 3 runs.
  longLong: {
    1: { reqTput: 3.43, ttftP50: 228.9, tpotP99: 14.75 },
    2: { reqTput: 4.97, ttftP50: 183.36, tpotP99: 10.16 },
  },
};
const cs26Shapes = {
  short: { input: 512, output: 256, c: 8 },
  longShort: { input: 2048, output: 128, c: 16 },
  longLong: { input: 2048, output: 512, c: 32 },
} as const;

const jm26Engine: EngineConfig = { model: 'llama-3.1-8b', gpu: 'A100-40GB', gpuMemoryUtilization: 0.92 };
const wmxEngine: EngineConfig = { model: 'qwen2.5-0.5b', gpu: 'L4', gpuMemoryUtilization: 0.6, maxModelLen: 8192 };
const wmxPublished: Record<number, Partial<Record<MetricKey, number>>> = {
  1: { outTput: 168, ttftP50: 27.0, itlP50: 5.1 },
  8: { outTput: 1312, ttftP50: 60.9, itlP50: 5.5 },
  32: { outTput: 3773, ttftP50: 135.3, itlP50: 7.1 },
};

function scenarios(): Scenario[] {
  const out: Scenario[] = [
    {
      id: 'll24-h100',
      source: 'LL24',
      generation: 'v0',
      hardware: 'H100 SXM · Llama-3-8B · TP1',
      workload: '10 ShareGPT requests at once (replayed lengths)',
      engine: ll24Engine('H100'),
      requests: replay(ll24OutputsH100),
      published: { ttftMean: 62.43, tpotMedian: 7.56, outTput: 347.89 },
    },
    {
      id: 'll24-a100',
      source: 'LL24',
      generation: 'v0',
      hardware: 'A100 SXM 80GB · Llama-3-8B · TP1',
      workload: '10 ShareGPT requests at once (replayed lengths)',
      engine: ll24Engine('A100-80GB'),
      requests: replay(ll24OutputsA100),
      published: { ttftMean: 126.87, tpotMedian: 12.01, outTput: 226.55 },
    },
  ];
  for (const tp of [1, 2]) {
    for (const [key, shape] of Object.entries(cs26Shapes)) {
      out.push({
        id: `cs26-tp${tp}-${key}`,
        source: 'CS26',
        generation: 'v1',
        notes: key === 'short' ? { ttftP50: 'grouping' } : { reqTput: 'reuse', ttftP50: 'grouping', tpotP99: 'reuse' },
        hardware: `A100 PCIe 80GB · Qwen2.5-7B · TP${tp}`,
        workload: `${shape.input} in / ${shape.output} out, C=${shape.c}, 100 prompts`,
        engine: cs26Engine(tp),
        requests: fixed(100, shape.input, shape.output),
        maxConcurrency: shape.c,
        published: cs26Published[key]![tp]!,
      });
    }
  }
  out.push(
    {
      id: 'jm26-c1',
      source: 'JM26',
      generation: 'v1',
      hardware: 'A100 SXM 40GB · Llama-3.1-8B · TP1',
      workload: '1024 in / 128 out, C=1, 20 prompts',
      engine: jm26Engine,
      requests: fixed(20, 1024, 128),
      maxConcurrency: 1,
      published: { decodeRate: 75 },
    },
    {
      id: 'jm26-c8',
      source: 'JM26',
      generation: 'v1',
      hardware: 'A100 SXM 40GB · Llama-3.1-8B · TP1',
      workload: '1024 in / 128 out, C=8, 160 prompts',
      engine: jm26Engine,
      requests: fixed(160, 1024, 128),
      maxConcurrency: 8,
      published: {},
    },
  );
  for (const c of [1, 8, 32]) {
    out.push({
      id: `wmx-c${c}`,
      source: 'WMX',
      generation: 'v1',
      notes: c === 1 ? {} : c === 8 ? { ttftP50: 'hostCpu' } : { ttftP50: 'hostCpu', outTput: 'hostCpu' },
      hardware: 'L4 · Qwen2.5-0.5B · TP1',
      workload: `256 in / 128 out, C=${c}, ${20 * c} prompts`,
      engine: wmxEngine,
      requests: fixed(20 * c, 256, 128),
      maxConcurrency: c,
      published: wmxPublished[c]!,
    });
  }
  return out;
}

interface Row {
  n: number;
  source: SourceKey;
  hardware: string;
  workload: string;
  metric: string;
  published: number;
  simulated: number;
  errorPct: number;
  note?: NoteKey;
}

const fmt = (x: number): string => (Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(2));

function runAll(): { rows: Row[]; results: Map<string, BenchResult> } {
  const results = new Map<string, BenchResult>();
  const rows: Row[] = [];
  for (const s of scenarios()) {
    const r = runBench({
      engine: { frontendLatencyMs: FRONTEND_MS[s.generation], ...s.engine },
      requests: s.requests,
      maxConcurrency: s.maxConcurrency,
    });
    results.set(s.id, r);
    for (const [m, published] of Object.entries(s.published) as Array<[MetricKey, number]>) {
      const simulated = metric(r, m);
      rows.push({
        n: rows.length + 1,
        source: s.source,
        hardware: s.hardware,
        workload: s.workload,
        metric: metricLabel[m],
        published,
        simulated,
        errorPct: ((simulated - published) / published) * 100,
        note: s.notes?.[m],
      });
    }
    if (s.id === 'jm26-c8') {
      const ratio = r.outputThroughput / results.get('jm26-c1')!.outputThroughput;
      rows.push({
        n: rows.length + 1,
        source: 'JM26',
        hardware: s.hardware,
        workload: '1024 in / 128 out, C=8 vs C=1',
        metric: 'output throughput gain C=8 / C=1 (×)',
        published: 6.6,
        simulated: ratio,
        errorPct: ((ratio - 6.6) / 6.6) * 100,
      });
    }
  }
  return { rows, results };
}

const noteMark: Record<NoteKey, string> = { grouping: 'G', reuse: 'R', hostCpu: 'H' };

function table(rows: Row[]): string {
  const lines = [
    '| # | source | GPU · model · TP | workload | metric | published | simulated | error | note |',
    '|---:|---|---|---|---|---:|---:|---:|---|',
  ];
  for (const r of rows) {
    const err = `${r.errorPct >= 0 ? '+' : ''}${r.errorPct.toFixed(1)}%`;
    lines.push(
      `| ${r.n} | ${r.source} | ${r.hardware} | ${r.workload} | ${r.metric} | ${fmt(r.published)} | ${fmt(r.simulated)} | ${Math.abs(r.errorPct) > 15 ? `**${err}**` : err} | ${r.note ? noteMark[r.note] : ''} |`,
    );
  }
  const fitted = rows.filter((r) => !r.note);
  const within = (rs: Row[]) => rs.filter((r) => Math.abs(r.errorPct) <= 15).length;
  const mae = (rs: Row[]) => mean(rs.map((r) => Math.abs(r.errorPct))).toFixed(1);
  lines.push(
    '',
    `Rows without a note: ${within(fitted)} of ${fitted.length} within ±15%, mean absolute error ${mae(fitted)}%. ` +
      `All rows: ${within(rows)} of ${rows.length} within ±15%, mean absolute error ${mae(rows)}%.`,
    '',
    ...Object.entries(notes).map(([k, v]) => `- ${noteMark[k as NoteKey]}: ${v}.`),
  );
  return lines.join('\n');
}

/**
 * CS26 replayed under the reading that its prompts repeat: vLLM's random dataset with one seed gives request i
 * the token run offset_i + i + k (so the 512-token prompts are prefixes of the 2048-token ones and the two 2048
 * workloads share prompts), and the report ran the three workloads three times against one server.
 */
function cs26ReuseTable(): string {
  const lines = [
    '| TP | workload | published req/s | replay req/s (runs 1–3 mean) | published median TTFT (ms) | replay median TTFT (ms) | published P99 TPOT (ms) | replay P99 TPOT (ms) |',
    '|---:|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const tp of [1, 2]) {
    const session = new BenchSession({ frontendLatencyMs: FRONTEND_MS.v1, ...cs26Engine(tp) });
    const vocab = session.engine.config.model.vocabSize;
    const rng = new Rng(0);
    const offsets = Array.from({ length: 100 }, () => rng.int(0, vocab - 1));
    const prompts = (input: number, output: number): BenchRequest[] =>
      offsets.map((o, i) => ({
        inputTokens: input,
        outputTokens: output,
        ignoreEos: true,
        promptTokenIds: Array.from({ length: input }, (_, k) => (o + i + k) % vocab),
      }));
    session.run(fixed(20, 32, 16), 1);
    const acc: Record<string, BenchResult[]> = {};
    for (let round = 0; round < 3; round++) {
      for (const [key, shape] of Object.entries(cs26Shapes)) {
        (acc[key] ??= []).push(session.run(prompts(shape.input, shape.output), shape.c));
      }
    }
    for (const [key, shape] of Object.entries(cs26Shapes)) {
      // The published short cell averages runs 2 and 3 (see the source note); the others all three.
      const runs = key === 'short' ? acc[key]!.slice(1) : acc[key]!;
      const p = cs26Published[key]![tp]!;
      lines.push(
        `| ${tp} | ${shape.input} in / ${shape.output} out, C=${shape.c} | ${fmt(p.reqTput!)} | ${fmt(mean(runs.map((r) => r.requestThroughput)))} | ` +
          `${fmt(p.ttftP50!)} | ${fmt(mean(runs.map((r) => percentile(r.ttftMs, 50))))} | ${fmt(p.tpotP99!)} | ${fmt(mean(runs.map((r) => percentile(r.tpotMs, 99))))} |`,
      );
    }
  }
  return lines.join('\n');
}

function capacityTable(): string {
  const lines = [
    '| GPU | model | TP | KV tokens | max concurrency | decode step @1 (ms) | prefill (tok/s) | output (tok/s) | USD / M output tokens |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  const cells: Array<[string, string, number]> = [
    ['A10', 'llama-3-8b', 1],
    ['L20', 'llama-3-8b', 1],
    ['L40S', 'llama-3-8b', 1],
    ['A100-80GB', 'llama-3-8b', 1],
    ['H100', 'llama-3-8b', 1],
    ['H200', 'llama-3-8b', 1],
    ['A10', 'deepseek-coder-6.7b', 1],
    ['L20', 'deepseek-coder-6.7b', 1],
    ['V100', 'deepseek-coder-6.7b', 1],
    ['A100-80GB', 'qwen2.5-7b', 1],
    ['L40S', 'mistral-7b', 1],
    ['H100', 'llama-3-70b', 4],
    ['H200', 'llama-3-70b', 2],
    ['A100-80GB', 'llama-3-70b', 4],
  ];
  for (const [gpu, model, tp] of cells) {
    const cfg = resolveEngineConfig({ gpu, model, tensorParallelSize: tp, maxModelLen: 8192 });
    const c = estimateCapacity(cfg);
    lines.push(
      `| ${gpu} | ${model} | ${tp} | ${c.kvCacheTokens} | ${c.maxConcurrency} | ${c.decodeStepMsAtBatch1.toFixed(2)} | ${c.prefillTokensPerSecond.toFixed(0)} | ${c.outputTokensPerSecond.toFixed(0)} | ${c.usdPerMillionOutputTokens.toFixed(3)} |`,
    );
  }
  return lines.join('\n');
}

const START = '<!-- calibration-table:start -->';
const END = '<!-- calibration-table:end -->';
const REUSE_START = '<!-- cs26-reuse-table:start -->';
const REUSE_END = '<!-- cs26-reuse-table:end -->';
const CAP_START = '<!-- capacity-table:start -->';
const CAP_END = '<!-- capacity-table:end -->';

function replaceBetween(doc: string, start: string, end: string, body: string): string {
  const a = doc.indexOf(start);
  const b = doc.indexOf(end);
  if (a < 0 || b < a) throw new Error(`markers ${start} … ${end} not found in the calibration doc`);
  return doc.slice(0, a + start.length) + '\n' + body + '\n' + doc.slice(b);
}

function speedTable(): string {
  const lines = [
    '| scenario | simulated requests | prompt tokens | output tokens | engine steps | prefix hit rate | wall time (s) |',
    '|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const s of speedScenarios) {
    const r = runSpeed(s);
    lines.push(
      `| ${r.name} | ${r.requests} | ${(r.promptTokens / 1e6).toFixed(0)} M | ${(r.outputTokens / 1e6).toFixed(1)} M | ${r.steps} | ${(100 * r.prefixHitRate).toFixed(0)}% | ${(r.wallMs / 1000).toFixed(1)} |`,
    );
  }
  return lines.join('\n');
}

const SPEED_START = '<!-- speed-table:start -->';
const SPEED_END = '<!-- speed-table:end -->';

export async function main(opts: { root: string; args: string[] }): Promise<number> {
  if (opts.args.includes('--speed')) {
    const t = speedTable();
    console.log(t);
    if (opts.args.includes('--write')) {
      const path = join(opts.root, 'docs/benchmarks/engine-calibration.md');
      writeFileSync(path, replaceBetween(readFileSync(path, 'utf8'), SPEED_START, SPEED_END, t));
      console.log(`wrote ${path}`);
    }
    return 0;
  }
  const t0 = Date.now();
  const { rows } = runAll();
  const t = table(rows);
  const cap = capacityTable();
  const reuse = cs26ReuseTable();
  console.log(t);
  console.log('');
  console.log(reuse);
  console.log('');
  console.log(cap);
  console.log('');
  console.log('calibration:', JSON.stringify(defaultCalibration));
  console.log(`simulated ${rows.length} rows in ${Date.now() - t0} ms`);
  if (opts.args.includes('--write')) {
    const path = join(opts.root, 'docs/benchmarks/engine-calibration.md');
    let doc = readFileSync(path, 'utf8');
    doc = replaceBetween(doc, START, END, t);
    doc = replaceBetween(doc, REUSE_START, REUSE_END, reuse);
    doc = replaceBetween(doc, CAP_START, CAP_END, cap);
    writeFileSync(path, doc);
    console.log(`wrote ${path}`);
  }
  if (opts.args.includes('--sources')) for (const [k, v] of Object.entries(sources)) console.log(`${k}: ${v}`);
  return 0;
}
