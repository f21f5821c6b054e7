#!/usr/bin/env node
// Benchmarks of @brix/cluster-sim (results and commands: docs/benchmarks/cluster-sim.md).
//   node tools/bench-cluster-sim/run.mjs speed [--hours 1] [--load 0.75] [--write]   wall time of simulated hours
//   node tools/bench-cluster-sim/run.mjs agreement [--write]                          live engine-sim vs simulated TTFT
import { runTs } from '../scripts/run-ts.mjs';

const [command, ...args] = process.argv.slice(2);
const entries = { speed: 'speed.ts', agreement: 'agreement.ts' };
if (!entries[command]) {
  console.error(`usage: node tools/bench-cluster-sim/run.mjs ${Object.keys(entries).join('|')} [options]`);
  process.exit(2);
}
process.exitCode = await runTs(`tools/bench-cluster-sim/${entries[command]}`, args);
