/**
 * The contract every EngineDirectory adapter passes. An adapter's spec supplies a harness that can make
 * engines appear, change and disappear through the adapter's own source of truth (the supervisor's
 * calls, or pods in a fake Kubernetes API server).
 */
import { type DirectoryChange, type EngineDirectory, type EngineInfo } from './port';

export interface DirectoryHarness {
  directory: EngineDirectory;
  /** Makes the engine exist (or changes it) at the source; resolves when the source accepted it. */
  put(engine: EngineInfo): Promise<void>;
  remove(id: string): Promise<void>;
  teardown(): Promise<void>;
}

const engine = (id: string, model: string, extra: Partial<EngineInfo> = {}): EngineInfo => ({
  id,
  model,
  url: `http://127.0.0.1:${8000 + Number(id.replace(/\D/g, '') || 0)}`,
  ready: true,
  labels: {},
  ...extra,
});

async function eventually(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export function describeEngineDirectoryContract(adapter: string, setup: () => Promise<DirectoryHarness>): void {
  describe(`EngineDirectory contract: ${adapter}`, () => {
    let h: DirectoryHarness;
    beforeEach(async () => {
      h = await setup();
      await h.directory.synced;
    });
    afterEach(async () => {
      await h.teardown();
    });

    it('lists engines by model and by id', async () => {
      await h.put(engine('e1', 'llama'));
      await h.put(engine('e2', 'llama', { gpuType: 'H100' }));
      await h.put(engine('e3', 'qwen'));
      await eventually(() => h.directory.list().length === 3, 'three engines');
      expect(
        h.directory
          .list('llama')
          .map((e) => e.id)
          .sort(),
      ).toEqual(['e1', 'e2']);
      expect(h.directory.list('nope')).toEqual([]);
      expect(h.directory.get('e2')).toMatchObject({ model: 'llama', gpuType: 'H100', ready: true });
      expect([...h.directory.models()].sort()).toEqual(['llama', 'qwen']);
    });

    it('reports readiness changes and removals to watchers', async () => {
      const changes: DirectoryChange[] = [];
      h.directory.watch((c) => changes.push(c));
      await h.put(engine('e1', 'llama', { ready: false }));
      await eventually(() => h.directory.get('e1') !== undefined, 'e1 to appear');
      await h.put(engine('e1', 'llama', { ready: true }));
      await eventually(() => h.directory.get('e1')?.ready === true, 'e1 to become ready');
      await h.remove('e1');
      await eventually(() => h.directory.get('e1') === undefined, 'e1 to disappear');
      expect(changes.map((c) => c.type)).toEqual(['added', 'updated', 'removed']);
      const updated = changes[1]!;
      expect(updated.type === 'updated' && updated.previous.ready).toBe(false);
      expect(h.directory.list('llama')).toEqual([]);
    });

    it('stops telling a watcher once it unsubscribes', async () => {
      const changes: DirectoryChange[] = [];
      const stop = h.directory.watch((c) => changes.push(c));
      await h.put(engine('e1', 'llama'));
      await eventually(() => changes.length === 1, 'the first change');
      stop();
      await h.put(engine('e2', 'llama'));
      await eventually(() => h.directory.get('e2') !== undefined, 'e2 to appear');
      expect(changes).toHaveLength(1);
    });
  });
}
