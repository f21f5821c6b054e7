import { type Clock } from '@brix/clock';
import { type AdapterEvent, type EngineLoadSnapshot } from '@brix/contracts';
import { type DirectoryChange, type EngineDirectory, type EngineInfo } from '@brix/discovery';
import { EngineLoadState, type EngineView } from '@brix/routing';
import { type BreakerOptions, CircuitBreaker, DEFAULT_BREAKER } from '../proxy/breaker';

/**
 * Everything the gateway knows about one engine: its directory entry, the load state routing reads
 * ({@link EngineLoadState}), and its circuit breaker. It is also the EngineView routing policies read.
 */
export class EngineRecord extends EngineLoadState implements EngineView {
  prefixHitRate: number | null = null;
  maxLoras?: number;
  maxNumSeqs?: number;
  /** Where the latest state came from. */
  stateSource?: 'bus' | 'scrape';
  readonly breaker: CircuitBreaker;

  constructor(
    public info: EngineInfo,
    public capacity: number,
    clock: Clock,
    staleAfterMs: number,
    breaker: BreakerOptions,
  ) {
    super(clock, staleAfterMs);
    this.breaker = new CircuitBreaker(breaker);
  }

  get id(): string {
    return this.info.id;
  }
  get model(): string {
    return this.info.model;
  }
  get gpuType(): string | undefined {
    return this.info.gpuType;
  }
  get url(): string {
    return this.info.url;
  }
}

export interface EngineStateOptions {
  clock: Clock;
  /** Load state older than this counts as stale (default 1000 ms). */
  staleAfterMs?: number;
  /** Relative serving capacity by GPU type (reference 1); engines of unknown type get `defaultCapacity`. */
  capacityByGpu?: Readonly<Record<string, number>>;
  defaultCapacity?: number;
  breaker?: BreakerOptions;
}

/**
 * Merges the engine directory, load snapshots (from sidecars on the bus, or the gateway's own scrapes),
 * adapter events and the gateway's in-flight counts into one live view per engine.
 */
export class EngineStateStore {
  private readonly records = new Map<string, EngineRecord>();
  private readonly removedListeners = new Set<(id: string) => void>();
  private readonly stopWatch: () => void;
  private readonly staleAfterMs: number;

  constructor(
    private readonly directory: EngineDirectory,
    private readonly options: EngineStateOptions,
  ) {
    this.staleAfterMs = options.staleAfterMs ?? 1_000;
    for (const e of directory.list()) this.records.set(e.id, this.newRecord(e));
    this.stopWatch = directory.watch((c) => this.onDirectoryChange(c));
  }

  /** Told when an engine leaves (or restarts and loses its caches), so stateful routing can forget it. */
  onEngineRemoved(listener: (id: string) => void): () => void {
    this.removedListeners.add(listener);
    return () => this.removedListeners.delete(listener);
  }

  get(id: string): EngineRecord | undefined {
    return this.records.get(id);
  }

  all(): EngineRecord[] {
    return [...this.records.values()];
  }

  /** Engines of `model` that may take a request now: ready in the directory and not cut off by their breaker. */
  candidates(model: string): EngineRecord[] {
    const now = this.options.clock.now();
    const out: EngineRecord[] = [];
    for (const info of this.directory.list(model)) {
      const r = this.records.get(info.id);
      if (r && info.ready && r.breaker.allows(now)) out.push(r);
    }
    return out;
  }

  /** Whether any engine of `model` is known, ready or not. */
  hasModel(model: string): boolean {
    return this.directory.list(model).length > 0;
  }

  models(): readonly string[] {
    return this.directory.models();
  }

  /** Loaded adapters and the base model each applies to. */
  adapters(): Map<string, string> {
    const out = new Map<string, string>();
    for (const r of this.records.values()) for (const a of r.loadedAdapters) out.set(a, r.model);
    return out;
  }

  applySnapshot(s: EngineLoadSnapshot, source: 'bus' | 'scrape'): void {
    const r = this.records.get(s.pod);
    if (!r || r.model !== s.model) return;
    // A sidecar's snapshots win over the gateway's own scrapes while they keep arriving.
    if (source === 'scrape' && r.stateSource === 'bus' && !r.stale) return;
    r.running = s.running;
    r.waiting = s.waiting;
    r.kvUsage = s.kvUsage;
    r.prefixHitRate = s.prefixHitRate;
    r.promptTokensPerSec = s.promptTokensPerSec;
    r.generationTokensPerSec = s.generationTokensPerSec;
    r.ttftMs = s.ttftMs ?? null;
    r.itlMs = s.itlMs ?? null;
    if (s.maxNumSeqs !== undefined) r.maxNumSeqs = s.maxNumSeqs;
    r.loadedAdapters.clear();
    for (const a of s.loadedAdapters) r.loadedAdapters.add(a);
    r.stateReceivedAt = this.options.clock.now();
    r.stateSource = source;
  }

  applyAdapterEvent(e: AdapterEvent): void {
    const r = this.records.get(e.pod);
    if (!r) return;
    if (e.kind === 'loaded') r.loadedAdapters.add(e.adapter);
    else if (e.kind === 'unloaded') r.loadedAdapters.delete(e.adapter);
  }

  /** Replaces an engine's adapter list (from polling its /v1/models). */
  setAdapters(id: string, adapters: Iterable<string>): void {
    const r = this.records.get(id);
    if (!r) return;
    r.loadedAdapters.clear();
    for (const a of adapters) r.loadedAdapters.add(a);
  }

  /** The engine was replaced under the same id: its caches and adapters are gone. */
  markRestarted(id: string): void {
    const r = this.records.get(id);
    if (!r) return;
    r.loadedAdapters.clear();
    r.stateReceivedAt = undefined;
    for (const l of this.removedListeners) l(id);
  }

  beginRequest(id: string, tokens: number): void {
    const r = this.records.get(id);
    if (!r) return;
    r.inFlight++;
    r.inFlightTokens += tokens;
  }

  endRequest(id: string, tokens: number): void {
    const r = this.records.get(id);
    if (!r) return;
    r.inFlight = Math.max(0, r.inFlight - 1);
    r.inFlightTokens = Math.max(0, r.inFlightTokens - tokens);
  }

  close(): void {
    this.stopWatch();
  }

  private newRecord(info: EngineInfo): EngineRecord {
    const table = this.options.capacityByGpu ?? {};
    const capacity = (info.gpuType && table[info.gpuType]) || this.options.defaultCapacity || 1;
    return new EngineRecord(info, capacity, this.options.clock, this.staleAfterMs, this.options.breaker ?? DEFAULT_BREAKER);
  }

  private onDirectoryChange(c: DirectoryChange): void {
    if (c.type === 'removed') {
      this.records.delete(c.engine.id);
      for (const l of this.removedListeners) l(c.engine.id);
      return;
    }
    const existing = this.records.get(c.engine.id);
    if (!existing) {
      this.records.set(c.engine.id, this.newRecord(c.engine));
      return;
    }
    const moved = existing.info.url !== c.engine.url || existing.info.model !== c.engine.model;
    existing.info = c.engine;
    if (moved) {
      // A different process now answers for this id: nothing we knew about its cache holds.
      this.records.set(c.engine.id, this.newRecord(c.engine));
      for (const l of this.removedListeners) l(c.engine.id);
    }
  }
}
