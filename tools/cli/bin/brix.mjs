#!/usr/bin/env node
// The `brix` command. Bundles the CLI and the engine simulator and gateway it launches (esbuild, about a second),
// then runs the CLI with the same arguments. `npm start` is `brix up`.
import { createRequire } from 'node:module';
import { bundle } from '../../scripts/bundle.mjs';

try {
  await Promise.all([bundle('cli'), bundle('engine-sim'), bundle('gateway')]);
} catch (err) {
  console.error(`brix: build failed: ${err.message}`);
  process.exit(1);
}
const require = createRequire(import.meta.url);
const cli = require('../../../dist/tools/cli/main.cjs');
process.exitCode = await cli.run(process.argv.slice(2));
