#!/usr/bin/env node
// Regenerates the engine-model calibration table (docs/benchmarks/engine-calibration.md).
//   node tools/calibrate/run.mjs           print the table
//   node tools/calibrate/run.mjs --write   print it and rewrite the tables in the doc
//   node tools/calibrate/run.mjs --speed [--write]   time 1 h of simulated traffic on 8 engines
import { runTs } from '../scripts/run-ts.mjs';

process.exitCode = await runTs('tools/calibrate/calibrate.ts');
