#!/usr/bin/env node
// Bundles one app into a single CommonJS file for Node 20+: dist/apps/<name>/main.cjs.
// Path aliases resolve through tsconfig.base.json; ESM-only dependencies are converted by esbuild.
// Packages with native addons or files loaded at run time stay external and come from node_modules.
//   node tools/scripts/bundle-app.mjs <app-name> [--outdir dir]
import { build } from 'esbuild';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const [name, ...rest] = process.argv.slice(2);
if (!name) {
  console.error('usage: bundle-app.mjs <app-name> [--outdir dir]');
  process.exit(2);
}
const entry = join(root, 'apps', name, 'src', 'main.ts');
if (!existsSync(entry)) {
  console.error(`no such app entry: ${entry}`);
  process.exit(2);
}
const outIdx = rest.indexOf('--outdir');
const outdir = outIdx >= 0 ? resolve(rest[outIdx + 1]) : join(root, 'dist', 'apps', name);

const EXTERNAL = ['zeromq', 'pino', 'thread-stream'];

await build({
  entryPoints: [entry],
  outfile: join(outdir, 'main.cjs'),
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: true,
  tsconfig: join(root, 'tsconfig.base.json'),
  external: EXTERNAL,
  logLevel: 'warning',
  legalComments: 'none',
});
console.log(`bundled ${name} → ${join(outdir, 'main.cjs')}`);
