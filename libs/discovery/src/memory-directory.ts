import { type DirectoryChange, type EngineDirectory, type EngineInfo } from './port';

function same(a: EngineInfo, b: EngineInfo): boolean {
  return (
    a.model === b.model &&
    a.url === b.url &&
    a.ready === b.ready &&
    a.gpuType === b.gpuType &&
    a.sidecarUrl === b.sidecarUrl &&
    a.node === b.node &&
    JSON.stringify(a.labels) === JSON.stringify(b.labels)
  );
}

/**
 * An EngineDirectory held in memory and written by its owner: the local supervisor in embedded mode,
 * a test, or a consumer of `brix.engine.lifecycle` events. Also the base the Kubernetes adapter feeds.
 */
export class MemoryEngineDirectory implements EngineDirectory {
  private readonly engines = new Map<string, EngineInfo>();
  private readonly byModel = new Map<string, EngineInfo[]>();
  private readonly listeners = new Set<(change: DirectoryChange) => void>();
  private markSynced!: () => void;
  readonly synced = new Promise<void>((resolve) => (this.markSynced = resolve));

  constructor(initial: readonly EngineInfo[] = [], options: { synced?: boolean } = {}) {
    for (const e of initial) this.engines.set(e.id, e);
    this.reindex();
    if (options.synced !== false) this.markSynced();
  }

  /** Declares the first full listing complete (for owners that fill the directory asynchronously). */
  setSynced(): void {
    this.markSynced();
  }

  /** Adds or replaces an engine; listeners hear `added` or `updated` (nothing when unchanged). */
  upsert(engine: EngineInfo): void {
    const previous = this.engines.get(engine.id);
    if (previous && same(previous, engine)) return;
    this.engines.set(engine.id, engine);
    this.reindex();
    this.emit(previous ? { type: 'updated', engine, previous } : { type: 'added', engine });
  }

  /** Changes some fields of a known engine; a no-op for an unknown id. */
  patch(id: string, fields: Partial<Omit<EngineInfo, 'id'>>): void {
    const current = this.engines.get(id);
    if (current) this.upsert({ ...current, ...fields });
  }

  remove(id: string): void {
    const engine = this.engines.get(id);
    if (!engine) return;
    this.engines.delete(id);
    this.reindex();
    this.emit({ type: 'removed', engine });
  }

  /** Replaces the whole set (a relist): emits removals, additions and updates to reach `engines`. */
  replaceAll(engines: readonly EngineInfo[]): void {
    const next = new Map(engines.map((e) => [e.id, e]));
    for (const id of [...this.engines.keys()]) if (!next.has(id)) this.remove(id);
    for (const e of engines) this.upsert(e);
  }

  list(model?: string): readonly EngineInfo[] {
    if (model === undefined) return [...this.engines.values()];
    return this.byModel.get(model) ?? [];
  }

  get(id: string): EngineInfo | undefined {
    return this.engines.get(id);
  }

  models(): readonly string[] {
    return [...this.byModel.keys()];
  }

  watch(listener: (change: DirectoryChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.listeners.clear();
  }

  private reindex(): void {
    this.byModel.clear();
    for (const e of this.engines.values()) {
      const list = this.byModel.get(e.model);
      if (list) list.push(e);
      else this.byModel.set(e.model, [e]);
    }
  }

  private emit(change: DirectoryChange): void {
    for (const l of this.listeners) l(change);
  }
}
