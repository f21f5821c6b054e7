import { describeEngineDirectoryContract } from './directory-contract';
import { MemoryEngineDirectory } from './memory-directory';

describeEngineDirectoryContract('memory', async () => {
  const directory = new MemoryEngineDirectory();
  return {
    directory,
    put: async (e) => directory.upsert(e),
    remove: async (id) => directory.remove(id),
    teardown: () => directory.close(),
  };
});

describe('MemoryEngineDirectory specifics', () => {
  const e = { id: 'e1', model: 'm', url: 'http://x', ready: true, labels: {} };

  it('does not announce an upsert that changes nothing', () => {
    const d = new MemoryEngineDirectory();
    const changes: string[] = [];
    d.watch((c) => changes.push(c.type));
    d.upsert(e);
    d.upsert({ ...e, labels: {} });
    expect(changes).toEqual(['added']);
  });

  it('replaceAll reaches the new set with the fewest changes', () => {
    const d = new MemoryEngineDirectory([e, { ...e, id: 'e2' }]);
    const changes: string[] = [];
    d.watch((c) => changes.push(`${c.type}:${c.engine.id}`));
    d.replaceAll([
      { ...e, ready: false },
      { ...e, id: 'e3' },
    ]);
    expect(changes).toEqual(['removed:e2', 'updated:e1', 'added:e3']);
  });

  it('is not synced until its owner says so when asked to wait', async () => {
    const d = new MemoryEngineDirectory([], { synced: false });
    let synced = false;
    void d.synced.then(() => (synced = true));
    await Promise.resolve();
    expect(synced).toBe(false);
    d.setSynced();
    await d.synced;
    expect(synced).toBe(true);
  });
});
