#!/usr/bin/env node
// Rate-limiter benchmark: overshoot under a burst (1 and 2 gateway replicas, Brix's reserve-and-settle vs
// charging after the response) and the latency the limiter adds to the request path (on vs off, one run).
// Writes docs/benchmarks/ratelimit.md.
//
//   node tools/bench-ratelimit/run.mjs [--burst 240] [--limit 6000] [--max-tokens 64] [--rounds 1500] \
//     [--out docs/benchmarks/ratelimit.md]
import { runTs } from '../scripts/run-ts.mjs';

process.exitCode = await runTs('tools/bench-ratelimit/bench.ts');
