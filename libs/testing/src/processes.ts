import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { waitFor } from './wait';

/** The repository root (where nx.json is), found from this file. */
export function repoRoot(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, 'nx.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the repository root (no nx.json above the test helpers)');
    dir = up;
  }
  return dir;
}

/** A free TCP port on 127.0.0.1 (free when asked; bind promptly). */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port'))));
    });
  });
}

const bundles = new Map<string, Promise<string>>();

/**
 * Bundles apps/<name>/src/main.ts with esbuild into tmp/test-bundles/<name>/main.cjs (the same bundling
 * as the app's `build` target) and returns the file. Bundles once per test process; concurrent test
 * processes each write their own file and rename it into place, so none reads a half-written bundle.
 */
export function bundleApp(name: string): Promise<string> {
  let pending = bundles.get(name);
  if (!pending) {
    pending = (async () => {
      const root = repoRoot();
      const { build } = await import('esbuild');
      const outDir = join(root, 'tmp', 'test-bundles', name);
      mkdirSync(outDir, { recursive: true });
      const out = join(outDir, 'main.cjs');
      const scratch = join(outDir, `main.${process.pid}.${Date.now()}.cjs`);
      await build({
        entryPoints: [join(root, 'apps', name, 'src', 'main.ts')],
        outfile: scratch,
        bundle: true,
        platform: 'node',
        target: 'node20',
        format: 'cjs',
        sourcemap: 'inline',
        tsconfig: join(root, 'tsconfig.base.json'),
        external: ['zeromq', 'pino', 'thread-stream'],
        logLevel: 'error',
      });
      renameSync(scratch, out);
      return out;
    })();
    bundles.set(name, pending);
  }
  return pending;
}

export interface ServiceProcess {
  readonly process: ChildProcess;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  /** Sends SIGTERM and waits for exit (SIGKILL after `graceMs`). Resolves with the exit code (null if killed). */
  stop(graceMs?: number): Promise<number | null>;
  /** Kills at once with SIGKILL, as a crash would. */
  kill(): Promise<void>;
  readonly exited: Promise<number | null>;
}

export interface StartProcessOptions {
  /** Script to run with the current node binary. */
  script: string;
  args?: string[];
  env?: Record<string, string | undefined>;
  /** URL that answers 2xx once the process is ready (e.g. http://127.0.0.1:8000/health). */
  readyUrl?: string;
  readyTimeoutMs?: number;
  cwd?: string;
}

/** Starts a Node script as a child process and waits until `readyUrl` answers 2xx. */
export async function startProcess(options: StartProcessOptions): Promise<ServiceProcess> {
  const child = spawn(process.execPath, [options.script, ...(options.args ?? [])], {
    cwd: options.cwd ?? repoRoot(),
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout?.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const handle: ServiceProcess = {
    process: child,
    output: () => log,
    exited,
    async stop(graceMs = 5_000) {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
  if (options.readyUrl) {
    const url = options.readyUrl;
    const abort = new AbortController();
    const ready = waitFor(
      async () => {
        const res = await fetch(url).catch(() => undefined);
        return res !== undefined && res.ok;
      },
      `${url} to answer`,
      { timeoutMs: options.readyTimeoutMs ?? 20_000, intervalMs: 50, signal: abort.signal },
    );
    const died = exited.then((code) => {
      throw new Error(`process exited (code ${code}) before it was ready`);
    });
    try {
      await Promise.race([ready, died]);
    } catch (err) {
      await handle.kill();
      throw new Error(`${(err as Error).message}\n--- process output ---\n${log}`, { cause: err });
    } finally {
      abort.abort();
      died.catch(() => undefined);
      ready.catch(() => undefined);
    }
  }
  return handle;
}

/** Bundles apps/<name> and starts it (see {@link bundleApp} and {@link startProcess}). */
export async function startApp(name: string, options: Omit<StartProcessOptions, 'script'>): Promise<ServiceProcess> {
  return startProcess({ ...options, script: await bundleApp(name) });
}

/** Newest modification time of a path, for tests that check freshness of generated files. */
