import { WallClock } from '@brix/clock';
import { type EngineLifecycleEvent } from '@brix/contracts';
import { MemoryEngineDirectory } from '@brix/discovery';
import { bundleApp, freePort, waitFor } from '@brix/testing';
import { processLauncher } from './process-launcher';
import { LocalSupervisor } from './supervisor';

// The supervisor launches real engine-sim processes (the stand-in for GPU engines).
describe('LocalSupervisor with engine-sim processes', () => {
  let script: string;
  beforeAll(async () => {
    script = await bundleApp('engine-sim');
  });

  function setup(extraArgs: string[] = []) {
    const directory = new MemoryEngineDirectory();
    const events: EngineLifecycleEvent[] = [];
    const launcher = processLauncher({
      command: (spec) => ({
        file: process.execPath,
        args: [script, '--port', String(spec.port), '--served-model-name', spec.model, '--time-scale', '0.1', ...extraArgs],
        env: { BRIX_LOG_LEVEL: 'warn' },
      }),
    });
    const supervisor = new LocalSupervisor({
      directory,
      launch: launcher.launch,
      allocatePort: freePort,
      clock: new WallClock(),
      announce: (e) => events.push(e),
      restartDelayMs: 100,
    });
    supervisor.define('m', { gpuType: 'H100' });
    return { directory, events, supervisor, launcher };
  }

  it('scales up to ready engines and down newest-first, announcing each step', async () => {
    const { directory, events, supervisor } = setup();
    try {
      await supervisor.setReplicas('m', 2);
      expect(directory.list('m').map((e) => [e.id, e.ready, e.gpuType])).toEqual([
        ['m-0', true, 'H100'],
        ['m-1', true, 'H100'],
      ]);
      // Ready means the engine answers: the directory never lists an engine before its health check passes.
      for (const e of directory.list('m')) expect((await fetch(`${e.url}/health`)).status).toBe(200);
      await supervisor.setReplicas('m', 1);
      expect(directory.list('m').map((e) => e.id)).toEqual(['m-0']);
      expect(events.filter((e) => e.pod === 'm-1').map((e) => e.phase)).toEqual(['starting', 'ready', 'draining', 'gone']);
    } finally {
      await supervisor.close();
    }
    expect(directory.list()).toEqual([]);
  });

  it('restarts an engine that crashes and announces the restart', async () => {
    const { directory, events, supervisor } = setup(['--crash-after-requests', '1']);
    try {
      await supervisor.setReplicas('m', 1);
      const url = directory.get('m-0')!.url;
      const ask = () =>
        fetch(`${url}/v1/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'm', prompt: 'hi', max_tokens: 1 }),
        }).catch(() => undefined);
      await ask();
      await ask(); // the second request makes the process exit
      await waitFor(() => events.some((e) => e.phase === 'not-ready'), 'the crash to be noticed');
      await waitFor(() => events.some((e) => e.phase === 'restarted'), 'the engine to be restarted', { timeoutMs: 20_000 });
      expect(directory.get('m-0')?.ready).toBe(true);
      expect((await fetch(`${directory.get('m-0')!.url}/health`)).status).toBe(200);
    } finally {
      await supervisor.close();
    }
  });
});
