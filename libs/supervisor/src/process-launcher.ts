import { type ChildProcess, spawn } from 'node:child_process';
import { type EngineLaunchSpec, type LaunchedEngine } from './supervisor';

export interface ProcessLauncherOptions {
  /** Builds the command for a replica: the executable and its arguments. */
  command: (spec: EngineLaunchSpec) => { file: string; args: string[]; env?: Record<string, string> };
  /** Health path polled until 200 (vLLM: /health). */
  healthPath?: string;
  /** Longest wait for the health check. */
  readyTimeoutMs?: number;
  /** Grace period between SIGTERM and SIGKILL on stop. */
  stopGraceMs?: number;
  /** Receives each line the engine writes, prefixed by its id (for a combined log). */
  onOutput?: (engineId: string, line: string) => void;
}

/**
 * Launches engines as child processes on 127.0.0.1 and waits until their health check answers 200.
 * Children are killed when the parent exits, so no engine outlives the stack.
 */
export function processLauncher(options: ProcessLauncherOptions) {
  const children = new Set<ChildProcess>();
  const killAll = () => {
    for (const c of children) c.kill('SIGKILL');
  };
  process.once('exit', killAll);

  const launch = async (spec: EngineLaunchSpec): Promise<LaunchedEngine> => {
    const { file, args, env } = options.command(spec);
    const child = spawn(file, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    const exited = new Promise<number | null>((resolve) =>
      child.once('exit', (code) => {
        children.delete(child);
        resolve(code);
      }),
    );
    const forward = (stream: NodeJS.ReadableStream | null) => {
      let partial = '';
      stream?.on('data', (d: Buffer) => {
        const lines = (partial + d.toString()).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) if (line) options.onOutput?.(spec.id, line);
      });
    };
    forward(child.stdout);
    forward(child.stderr);

    const url = `http://127.0.0.1:${spec.port}`;
    const health = `${url}${options.healthPath ?? '/health'}`;
    const deadline = Date.now() + (options.readyTimeoutMs ?? 60_000);
    let dead = false;
    void exited.then(() => (dead = true));
    const ready = (async () => {
      for (;;) {
        if (dead) throw new Error(`engine ${spec.id} exited before it was ready`);
        const ok = await fetch(health)
          .then((r) => r.ok)
          .catch(() => false);
        if (ok) return;
        if (Date.now() > deadline) throw new Error(`engine ${spec.id} did not become ready at ${health}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    ready.catch(() => undefined);

    return {
      url,
      ready,
      exited,
      async stop() {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), options.stopGraceMs ?? 5_000);
        await exited;
        clearTimeout(timer);
      },
    };
  };
  return { launch, killAll };
}
