#!/usr/bin/env node
// Benchmarks of @brix/cluster-sim (results and commands: docs/benchmarks/cluster-sim.md).
//   node tools/bench-cluster-sim/run.mjs speed [--hours 1] [--load 0.75] [--write]   wall time of simulated hours
//   node tools/bench-cluster-sim/run.mjs agreement [--write]                          live engine-sim vs simulated TTFT
// The TypeScript harness is bundled by esbuild into a temporary CommonJS file and run in-process; path aliases
// (@brix/*) resolve through tsconfig.base.json.
import { build } from 'esbuild';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const [command, ...args] = process.argv.slice(2);
const entries = { speed: 'speed.ts', agreement: 'agreement.ts' };
if (!entries[command]) {
  console.error(`usage: node tools/bench-cluster-sim/run.mjs ${Object.keys(entries).join('|')} [options]`);
  process.exit(2);
}
// Inside the repository's tmp/ so the test helpers find the repository root (they bundle apps from it).
mkdirSync(join(root, 'tmp'), { recursive: true });
const dir = mkdtempSync(join(root, 'tmp', 'bench-cluster-sim-'));
const outfile = join(dir, 'bench.cjs');
try {
  await build({
    entryPoints: [join(root, 'tools/bench-cluster-sim', entries[command])],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    tsconfig: join(root, 'tsconfig.base.json'),
    external: ['esbuild'],
    logLevel: 'warning',
  });
  const require = createRequire(import.meta.url);
  const { main } = require(outfile);
  process.exitCode = await main({ root, args });
} finally {
  rmSync(dir, { recursive: true, force: true });
}
