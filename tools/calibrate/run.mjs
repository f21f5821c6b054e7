#!/usr/bin/env node
// Regenerates the engine-model calibration table (docs/benchmarks/engine-calibration.md).
//   node tools/calibrate/run.mjs           print the table
//   node tools/calibrate/run.mjs --write   print it and rewrite the tables in the doc
//   node tools/calibrate/run.mjs --speed [--write]   time 1 h of simulated traffic on 8 engines
// The TypeScript harness (calibrate.ts) is bundled by esbuild into a temporary CommonJS file and run in-process;
// path aliases (@brix/*) resolve through tsconfig.base.json.
import { build } from 'esbuild';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const dir = mkdtempSync(join(tmpdir(), 'brix-calibrate-'));
const outfile = join(dir, 'calibrate.cjs');
try {
  await build({
    entryPoints: [join(root, 'tools/calibrate/calibrate.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    tsconfig: join(root, 'tsconfig.base.json'),
    logLevel: 'warning',
  });
  const require = createRequire(import.meta.url);
  const { main } = require(outfile);
  const code = await main({ root, args: process.argv.slice(2) });
  process.exitCode = code;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
