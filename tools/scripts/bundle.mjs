// Bundling of runnable projects (apps and the CLI) into one CommonJS file each, for Node 20+.
// Path aliases resolve through tsconfig.base.json; ESM-only dependencies are converted by esbuild.
// Packages with native addons or worker files loaded at run time stay external (from node_modules).
import { build } from 'esbuild';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
// esbuild (loaded lazily by the test helpers) and resvg (a native addon, for benchmark plots) stay external too.
export const EXTERNAL = ['zeromq', 'pino', 'thread-stream', 'esbuild', '@resvg/resvg-js'];

/** Where a runnable project lives: apps/<name> or tools/<name>. */
export function projectDir(name) {
  for (const base of ['apps', 'tools']) {
    const dir = join(root, base, name);
    if (existsSync(join(dir, 'src', 'main.ts'))) return { base, dir };
  }
  throw new Error(`no runnable project named ${name} (looked for apps/${name}/src/main.ts and tools/${name}/src/main.ts)`);
}

/** The bundle file of a project: dist/<apps|tools>/<name>/main.cjs. */
export function bundlePath(name) {
  return join(root, 'dist', projectDir(name).base, name, 'main.cjs');
}

export async function bundle(name, outfile = bundlePath(name)) {
  const { dir } = projectDir(name);
  await build({
    entryPoints: [join(dir, 'src', 'main.ts')],
    outfile,
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
  return outfile;
}
