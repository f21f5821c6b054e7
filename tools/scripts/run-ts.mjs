// Runs a TypeScript tool (a benchmark or calibration harness) without a build step: bundles the entry with
// esbuild into tmp/ inside the repository (path aliases resolve through tsconfig.base.json; packages with
// native parts or worker files load from node_modules) and calls its exported `main({ root, args })`,
// which resolves with the exit status.
import { build } from 'esbuild';
import { mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, join } from 'node:path';
import { EXTERNAL, root } from './bundle.mjs';

export async function runTs(entry, args = process.argv.slice(2)) {
  const dir = join(root, 'tmp', 'run-ts');
  mkdirSync(dir, { recursive: true });
  const outfile = join(dir, `${basename(entry, '.ts')}.${process.pid}.cjs`);
  try {
    await build({
      entryPoints: [join(root, entry)],
      outfile,
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      tsconfig: join(root, 'tsconfig.base.json'),
      external: ['esbuild', ...EXTERNAL],
      logLevel: 'warning',
    });
    const require = createRequire(import.meta.url);
    const { main } = require(outfile);
    return await main({ root, args });
  } catch (err) {
    // A bad command line is the user's mistake: one clear message and exit status 2, no stack trace.
    if (err?.name !== 'BenchUsageError') throw err;
    console.error(err.message);
    return 2;
  } finally {
    rmSync(outfile, { force: true });
  }
}
