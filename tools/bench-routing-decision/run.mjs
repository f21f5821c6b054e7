#!/usr/bin/env node
// Routing decision time with 64 engines and 220 KB prompts, strategies side by side (results and command:
// docs/benchmarks/routing-decision.md).
//   node tools/bench-routing-decision/run.mjs [--decisions 20000] [--engines 64] [--docs 100] [--doc-bytes 225280] [--seed 1] [--out FILE]
import { runTs } from '../scripts/run-ts.mjs';

process.exitCode = await runTs('tools/bench-routing-decision/bench.ts');
