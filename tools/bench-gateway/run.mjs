#!/usr/bin/env node
// Gateway benchmark: latency the gateway adds at 500 req/s (2 KB prompts), routing decision time with 64
// engines and prefix-cache, and throughput and CPU cost with 220 KB prompts. Writes docs/benchmarks/gateway.md.
//   node tools/bench-gateway/run.mjs [--seconds 5] [--rounds 5] [--rate 500] [--concurrency 32] [--out FILE]
import { runTs } from '../scripts/run-ts.mjs';

process.exitCode = await runTs('tools/bench-gateway/bench.ts');
