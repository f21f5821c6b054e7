import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { freePort, repoRoot, waitFor } from '@brix/testing';
import OpenAI from 'openai';

/** Processes whose command line mentions `needle`, other than this test's own tooling. */
function processesMatching(needle: string): string[] {
  const out = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  return out
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.includes(needle) && !l.includes('ps -eo'));
}

// What a newcomer does: `npm start`, then point the official OpenAI client at http://127.0.0.1:<port>/v1.
describe('npm start (the embedded local stack)', () => {
  let stack: ChildProcess | undefined;
  let output = '';

  afterAll(() => {
    if (stack?.pid && stack.exitCode === null) process.kill(-stack.pid, 'SIGKILL');
  });

  it('serves a streamed chat completion to the openai client, then stops cleanly on Ctrl-C leaving no process behind', async () => {
    const [port, enginePort, sidecarPort] = [await freePort(), await freePort(), await freePort()];
    // Its own process group, so Ctrl-C can be delivered the way a terminal does: to the whole group.
    stack = spawn(
      'npm',
      ['start', '--', '--port', String(port), '--engine-port', String(enginePort), '--sidecar-port', String(sidecarPort)],
      {
        cwd: repoRoot(),
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, NATS_URL: '', BRIX_ADMIN_TOKEN: 'e2e-admin' },
      },
    );
    stack.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    stack.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
      stack!.once('exit', (code, signal) => r({ code, signal })),
    );

    await waitFor(() => output.includes('Brix is up'), `the stack to come up; output so far:\n${output}`, {
      timeoutMs: 90_000,
      intervalMs: 200,
    });
    expect(output).toContain(`OpenAI base URL  http://127.0.0.1:${port}/v1`);
    expect(output).toContain('admin token      e2e-admin');
    const engineLines = output.split('\n').filter((l) => l.trim().startsWith('engine '));
    expect(engineLines).toHaveLength(2);
    expect(engineLines.every((l) => l.includes('sidecar http://'))).toBe(true);

    const client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: 'local', maxRetries: 0 });
    const stream = await client.chat.completions.create({
      model: 'llama-3-8b',
      messages: [{ role: 'user', content: 'Say hello to Brix.' }],
      max_tokens: 16,
      stream: true,
    });
    let text = '';
    let chunks = 0;
    for await (const chunk of stream) {
      chunks++;
      text += chunk.choices[0]?.delta?.content ?? '';
    }
    expect(chunks).toBeGreaterThan(1);
    expect(text.length).toBeGreaterThan(0);

    const engineProcesses = processesMatching(`--port ${enginePort}`);
    expect(engineProcesses.length).toBe(1);

    process.kill(-stack.pid!, 'SIGINT');
    // npm itself ends by the signal (as it does in a terminal); the stack process behind it shuts down cleanly.
    const end = await exited;
    expect(end.code === 0 || end.signal === 'SIGINT').toBe(true);
    await waitFor(() => output.includes('Stopped.'), 'the stack to report it stopped', { timeoutMs: 30_000 });
    await waitFor(() => processesMatching('brix.mjs up').length === 0, 'the stack process to exit', { timeoutMs: 30_000 });
    // Nothing of the stack survives: no engine process, nothing listening on its ports.
    expect(
      processesMatching('engine-sim/main.cjs').filter(
        (l) => l.includes(`--port ${enginePort}`) || l.includes(`--port ${enginePort + 1}`),
      ),
    ).toEqual([]);
    expect(processesMatching('brix.mjs up')).toEqual([]);
    for (const p of [port, enginePort, sidecarPort]) {
      const refused = await fetch(`http://127.0.0.1:${p}/`).then(
        () => false,
        () => true,
      );
      expect(refused).toBe(true);
    }
  });
});
