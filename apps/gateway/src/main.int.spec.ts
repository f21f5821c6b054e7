import { freePort, startApp, startProcess, bundleApp } from '@brix/testing';

// The gateway's main.ts, run as the bundled process operators deploy, in front of a real engine-sim process.
describe('gateway process', () => {
  it('starts from environment settings and serves a static engine list', async () => {
    const enginePort = await freePort();
    const engine = await startApp('engine-sim', {
      args: ['--port', String(enginePort), '--served-model-name', 'llama'],
      env: { BRIX_LOG_LEVEL: 'warn' },
      readyUrl: `http://127.0.0.1:${enginePort}/health`,
    });
    const port = await freePort();
    const gateway = await startApp('gateway', {
      env: { BRIX_GATEWAY_PORT: String(port), BRIX_ENGINES: `llama=http://127.0.0.1:${enginePort}`, BRIX_LOG_LEVEL: 'warn', NATS_URL: '' },
      readyUrl: `http://127.0.0.1:${port}/readyz`,
    });
    try {
      const res = await fetch(`http://127.0.0.1:${port}/v1/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'llama', prompt: 'Hello', max_tokens: 2 }),
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('target-pod')).toBe('llama-0');
      expect(await gateway.stop()).toBe(0);
    } finally {
      await gateway.stop();
      await engine.stop();
    }
  });

  it.each([
    ['a bad port', { BRIX_GATEWAY_PORT: 'eighty' }, /^invalid configuration: BRIX_GATEWAY_PORT="eighty"/],
    ['a malformed engine list', { BRIX_ENGINES: 'llama' }, /^invalid configuration: BRIX_ENGINES entry "llama"/],
  ])('refuses to start on %s with one line naming the variable', async (_case, env, message) => {
    const proc = await startProcess({ script: await bundleApp('gateway'), env: { ...env, NATS_URL: '' } });
    expect(await proc.exited).toBe(1);
    const lines = proc.output().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(message);
  });
});
