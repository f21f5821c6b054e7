import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

/** Thrown when no nats-server binary can be found; the message says how to install one. */
export class NatsServerNotFoundError extends Error {
  override readonly name = 'NatsServerNotFoundError';
  constructor(searched: string[]) {
    super(
      `nats-server binary not found (looked in NATS_SERVER_BIN and ${searched.join(', ')}). ` +
        'Install it with `apt-get install -y nats-server` (Debian/Ubuntu) or set NATS_SERVER_BIN to its path.',
    );
  }
}

/** Finds the nats-server binary: NATS_SERVER_BIN, then PATH, then the sbin folders PATH often lacks for non-root users. */
export function findNatsServer(env: NodeJS.ProcessEnv = process.env): string {
  if (env['NATS_SERVER_BIN']) {
    if (existsSync(env['NATS_SERVER_BIN'])) return env['NATS_SERVER_BIN'];
    throw new NatsServerNotFoundError([env['NATS_SERVER_BIN']]);
  }
  const dirs = [...(env['PATH'] ?? '').split(delimiter).filter(Boolean), '/usr/sbin', '/usr/local/sbin', '/usr/local/bin'];
  for (const dir of dirs) {
    const candidate = join(dir, 'nats-server');
    if (existsSync(candidate)) return candidate;
  }
  throw new NatsServerNotFoundError(dirs.map((d) => join(d, 'nats-server')));
}

export interface NatsServerHandle {
  /** `nats://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** Stops the process (SIGTERM, then SIGKILL after a grace period). The store dir is kept for restart(). */
  stop(): Promise<void>;
  /** Starts the server again on the same port with the same JetStream store. */
  restart(): Promise<void>;
  /** Stops the server and removes its store directory. */
  dispose(): Promise<void>;
}

const LISTEN_LINE = /Listening for client connections on [^\s]*:(\d+)/;

/**
 * Starts a private nats-server with JetStream on an ephemeral port of 127.0.0.1, for integration tests.
 * Each call gets its own process and store directory, so tests in parallel never share state.
 */
export async function startNatsServer(opts: { startTimeoutMs?: number } = {}): Promise<NatsServerHandle> {
  const bin = findNatsServer();
  const storeDir = mkdtempSync(join(tmpdir(), 'brix-nats-'));
  const timeout = opts.startTimeoutMs ?? 15_000;
  let child: ChildProcess | undefined;
  let port = -1;

  const launch = (wantedPort: number) =>
    new Promise<number>((resolve, reject) => {
      const proc = spawn(bin, ['-a', '127.0.0.1', '-p', String(wantedPort), '-js', '-sd', storeDir], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child = proc;
      let log = '';
      const timer = setTimeout(() => {
        proc.kill('SIGKILL');
        reject(new Error(`nats-server did not start within ${timeout} ms:\n${log}`));
      }, timeout);
      const onData = (chunk: Buffer) => {
        log += chunk.toString();
        const m = LISTEN_LINE.exec(log);
        if (m && log.includes('Server is ready')) {
          clearTimeout(timer);
          proc.stdout?.off('data', onData);
          proc.stderr?.off('data', onData);
          // Keep draining output so the pipe never fills and blocks the server.
          proc.stdout?.resume();
          proc.stderr?.resume();
          resolve(Number(m[1]));
        }
      };
      proc.stdout?.on('data', onData);
      proc.stderr?.on('data', onData);
      proc.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`nats-server exited with code ${code} before it was ready:\n${log}`));
      });
    });

  const stop = async () => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      const kill = setTimeout(() => proc.kill('SIGKILL'), 5_000);
      proc.once('exit', () => {
        clearTimeout(kill);
        resolve();
      });
      proc.kill('SIGTERM');
    });
  };

  port = await launch(-1);
  return {
    get url() {
      return `nats://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    stop,
    async restart() {
      await stop();
      // The port was just freed by our own process; retry briefly in case the OS holds it a moment.
      for (let attempt = 0; ; attempt++) {
        try {
          await launch(port);
          return;
        } catch (err) {
          if (attempt >= 10) throw err;
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    },
    async dispose() {
      await stop();
      rmSync(storeDir, { recursive: true, force: true });
    },
  };
}
