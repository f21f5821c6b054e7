#!/usr/bin/env node
// Bundles one runnable project (apps/<name> or tools/<name>) into dist/<apps|tools>/<name>/main.cjs.
//   node tools/scripts/bundle-app.mjs <name> [--outdir dir]
import { join, resolve } from 'node:path';
import { bundle, bundlePath } from './bundle.mjs';

const [name, ...rest] = process.argv.slice(2);
if (!name) {
  console.error('usage: bundle-app.mjs <name> [--outdir dir]');
  process.exit(2);
}
const outIdx = rest.indexOf('--outdir');
const outfile = outIdx >= 0 ? join(resolve(rest[outIdx + 1]), 'main.cjs') : bundlePath(name);
try {
  console.log(`bundled ${name} → ${await bundle(name, outfile)}`);
} catch (err) {
  console.error(err.message);
  process.exit(1);
}
