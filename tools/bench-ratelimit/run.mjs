#!/usr/bin/env node
// Rate-limiter benchmark: overshoot under a burst (1 and 2 gateway replicas, Brix's reserve-and-settle vs
// charging after the response) and the latency the limiter adds to the request path (on vs off, one run).
// Writes docs/benchmarks/ratelimit.md.
//
//   node tools/bench-ratelimit/run.mjs [--burst 240] [--limit 6000] [--max-tokens 64] [--rounds 1500] \
//     [--out docs/benchmarks/ratelimit.md]
//
// The TypeScript harness (bench.ts) is bundled by esbuild into tmp/ inside the repository (the test helpers
// find the repository root from their own location) and run in-process; path aliases resolve through
// tsconfig.base.json. Needs nats-server on the machine (as the integration tests do).
import { build } from 'esbuild';
import { mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const dir = join(root, 'tmp', 'bench-ratelimit');
mkdirSync(dir, { recursive: true });
const outfile = join(dir, `bench.${process.pid}.cjs`);
try {
  await build({
    entryPoints: [join(root, 'tools/bench-ratelimit/bench.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    tsconfig: join(root, 'tsconfig.base.json'),
    // As the app bundles: packages with native parts or worker files load from node_modules.
    external: ['esbuild', 'zeromq', 'pino', 'thread-stream'],
    logLevel: 'warning',
  });
  const require = createRequire(import.meta.url);
  const { main } = require(outfile);
  process.exitCode = await main({ root, args: process.argv.slice(2) });
} finally {
  rmSync(outfile, { force: true });
}
