import { join } from 'node:path';
import { freePort, repoRoot, startProcess } from './processes';

const fixture = join(__dirname, 'fixtures', 'echo-server.cjs');

describe('process helpers', () => {
  it('finds the repository root', () => {
    expect(repoRoot()).toMatch(/[/\\][^/\\]+$/);
  });

  it('starts a process, waits until it is ready, passes args and env, and stops it', async () => {
    const port = await freePort();
    const proc = await startProcess({
      script: fixture,
      args: ['--flag'],
      env: { PORT: String(port), READY_DELAY_MS: '200', ECHO_VALUE: 'v' },
      readyUrl: `http://127.0.0.1:${port}/health`,
    });
    const body = await (await fetch(`http://127.0.0.1:${port}/`)).json();
    expect(body).toEqual({ argv: ['--flag'], env: 'v' });
    expect(await proc.stop()).toBe(0);
    expect(proc.output()).toContain('listening');
  });

  it('fails with the process output when the process dies before it is ready', async () => {
    const port = await freePort();
    await expect(
      startProcess({
        script: fixture,
        env: { PORT: 'not-a-port' },
        readyUrl: `http://127.0.0.1:${port}/health`,
        readyTimeoutMs: 5_000,
      }),
    ).rejects.toThrow(/exited \(code 1\) before it was ready[^]*ERR_SOCKET_BAD_PORT/);
  });
});
