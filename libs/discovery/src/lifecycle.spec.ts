import { type EngineLifecycleEvent } from '@brix/contracts';
import { applyLifecycleEvent } from './lifecycle';
import { MemoryEngineDirectory } from './memory-directory';

const event = (phase: EngineLifecycleEvent['phase'], extra: Partial<EngineLifecycleEvent> = {}): EngineLifecycleEvent => ({
  v: 1, model: 'llama', pod: 'e1', phase, ts: 0, ...extra,
});

describe('applyLifecycleEvent', () => {
  it.each([
    ['starting', false],
    ['ready', true],
    ['not-ready', false],
    ['draining', false],
    ['restarted', true],
  ] as const)('maps phase %s to ready=%s', (phase, ready) => {
    const d = new MemoryEngineDirectory();
    applyLifecycleEvent(d, event(phase, { url: 'http://127.0.0.1:8000/' }));
    expect(d.get('e1')).toMatchObject({ model: 'llama', url: 'http://127.0.0.1:8000', ready });
  });

  it('keeps what it knew when a later event omits it, and removes on gone', () => {
    const d = new MemoryEngineDirectory();
    applyLifecycleEvent(d, event('starting', { url: 'http://x:1', gpuType: 'H100', sidecarUrl: 'http://x:8080' }));
    applyLifecycleEvent(d, event('ready'));
    expect(d.get('e1')).toMatchObject({ url: 'http://x:1', gpuType: 'H100', sidecarUrl: 'http://x:8080', ready: true });
    applyLifecycleEvent(d, event('gone'));
    expect(d.get('e1')).toBeUndefined();
  });

  it('ignores an engine it has never seen with a URL', () => {
    const d = new MemoryEngineDirectory();
    applyLifecycleEvent(d, event('ready'));
    expect(d.list()).toEqual([]);
  });
});
