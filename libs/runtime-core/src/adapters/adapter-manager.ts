import { relative, sep } from 'node:path';
import { type ArtifactInfo } from '@brix/artifacts';
import { type Bus, publishEvent } from '@brix/bus';
import { type Clock, type TimerHandle } from '@brix/clock';
import {
  AdapterEvents,
  type AdapterEventKind,
  BadRequestError,
  BrixError,
  ConflictError,
  NotFoundError,
  UpstreamError,
  UpstreamTimeoutError,
} from '@brix/contracts';
import { type Logger } from '@brix/observability';
import { type EngineClient, type EngineModelCard, EngineRequestError } from '../engine/engine-client';
import { type AdapterInfo, type AdapterResult } from './schemas';

/** What adapter loading needs of the artifact cache; `ArtifactStore` of @brix/artifacts provides it. */
export interface AdapterArtifacts {
  readonly cacheDir: string;
  /** Real path of a local source (checked against the policy), undefined for a remote one. */
  localPath(uri: string): Promise<string | undefined>;
  download(uri: string, options?: { force?: boolean }): Promise<ArtifactInfo>;
  remove(key: string): Promise<boolean>;
}

export interface AdapterManagerOptions {
  /** The engine's served (base) model name; adapters are cards whose `parent` is a base model. */
  model: string;
  pod: string;
  engine: Pick<EngineClient, 'listModels' | 'loadLoraAdapter' | 'unloadLoraAdapter'>;
  artifacts: AdapterArtifacts;
  bus: Bus;
  clock: Clock;
  logger: Logger;
  /** Longest wait for one engine call (list, load, unload), ms. */
  engineTimeoutMs: number;
  /** Pause between two polls of the engine's `/v1/models`, ms; 0 = one look at start, then only loads, unloads and refresh(). */
  pollIntervalMs: number;
}

interface AdapterRecord {
  source: string;
  path: string;
  /** Cache key when the sidecar downloaded the files (so unload may delete them). */
  artifactKey?: string;
}

type Op =
  | { kind: 'load'; source: string; promise: Promise<AdapterResult> }
  | { kind: 'unload'; deleteFiles: boolean; promise: Promise<AdapterResult> };

/** A card that describes a LoRA adapter of this engine: it names a parent (the base model). */
const isAdapter = (card: EngineModelCard): boolean => typeof card.parent === 'string' && card.parent !== '';

/**
 * Loads and unloads LoRA adapters on the engine beside the sidecar, and keeps the list of adapters the
 * engine holds.
 *
 * - **Load**: a local `artifact_url` (absolute path or `file://`, inside the artifact policy's local
 *   roots) is handed to the engine as is; anything else is downloaded into the artifact cache first and
 *   the cache directory is handed over. Then `POST /v1/load_lora_adapter`, then `GET /v1/models` must
 *   list the adapter with a parent.
 * - **Unload**: `POST /v1/unload_lora_adapter`, then `/v1/models` must no longer list it; with
 *   `deleteFiles` the downloaded copy is deleted (only a copy in the sidecar's cache that no other
 *   loaded adapter uses; never a local path).
 * - **Idempotent**: loading a listed adapter, or unloading an absent one, succeeds with `changed: false`
 *   and sends nothing to the engine. Loading a name this sidecar loaded from another source is a conflict.
 * - **One operation per adapter at a time**: a load joins a load of the same adapter and source in
 *   flight; other operations on the same adapter queue behind it.
 * - **Events**: `loaded`, `unloaded`, `load-failed` (with the reason) on `brix.adapter.events.<model>`,
 *   also for changes the poll of `/v1/models` finds (an engine restart drops every adapter).
 */
export class AdapterManager {
  private readonly records = new Map<string, AdapterRecord>();
  /** Adapters the engine lists, by name → card root (the path it loaded from). */
  private known = new Map<string, string | null>();
  private readonly ops = new Map<string, Op>();
  /** Bumped by every change made here, so a poll that raced with one is discarded. */
  private generation = 0;
  private timer: TimerHandle | undefined;
  private running = false;
  private polling: Promise<void> | undefined;

  constructor(private readonly options: AdapterManagerOptions) {}

  /** Names of the adapters the engine holds, sorted. */
  loaded(): string[] {
    return [...this.known.keys()].sort();
  }

  list(): AdapterInfo[] {
    return this.loaded().map((name) => ({
      lora_name: name,
      path: this.known.get(name) ?? this.records.get(name)?.path ?? null,
      source: this.records.get(name)?.source ?? null,
    }));
  }

  /** Starts polling `/v1/models` (the first poll runs at once; with interval 0 it is the only one). Idempotent. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule(0);
  }

  stop(): void {
    this.running = false;
    if (this.timer !== undefined) this.options.clock.clearTimer(this.timer);
    this.timer = undefined;
  }

  /**
   * Reads `/v1/models` now and publishes what changed since the last look. Concurrent calls share one
   * read. Never rejects (a failed read is logged and leaves the list as it was).
   */
  refresh(reason?: string): Promise<void> {
    this.polling ??= this.poll(reason).finally(() => (this.polling = undefined));
    return this.polling;
  }

  load(name: string, source: string, options: { force?: boolean } = {}): Promise<AdapterResult> {
    const current = this.ops.get(name);
    if (current?.kind === 'load') {
      if (current.source === source) return current.promise;
      return Promise.reject(
        new ConflictError(`Adapter '${name}' is being loaded from ${current.source}; it cannot also load from ${source}.`),
      );
    }
    return this.enqueue(name, { kind: 'load', source }, () => this.doLoad(name, source, options.force ?? false));
  }

  unload(name: string, options: { deleteFiles?: boolean } = {}): Promise<AdapterResult> {
    const deleteFiles = options.deleteFiles ?? false;
    const current = this.ops.get(name);
    if (current?.kind === 'unload' && current.deleteFiles === deleteFiles) return current.promise;
    return this.enqueue(name, { kind: 'unload', deleteFiles }, () => this.doUnload(name, deleteFiles));
  }

  /** Runs `run` after whatever operation on `name` is queued, and registers it as the latest. */
  private enqueue(
    name: string,
    op: { kind: 'load'; source: string } | { kind: 'unload'; deleteFiles: boolean },
    run: () => Promise<AdapterResult>,
  ): Promise<AdapterResult> {
    const before = this.ops.get(name)?.promise.catch(() => undefined) ?? Promise.resolve();
    const promise = before.then(run);
    const entry = { ...op, promise } as Op;
    this.ops.set(name, entry);
    const clear = () => {
      if (this.ops.get(name) === entry) this.ops.delete(name);
    };
    promise.then(clear, clear);
    return promise;
  }

  private async doLoad(name: string, source: string, force: boolean): Promise<AdapterResult> {
    const { logger } = this.options;
    const cards = await this.models('load');
    const card = cards.find((c) => c.id === name);
    const record = this.records.get(name);
    if (card && !isAdapter(card)) throw new ConflictError(`'${name}' is a base model of this engine, not an adapter.`);
    if (card) {
      if (record && record.source !== source)
        throw new ConflictError(
          `Adapter '${name}' is already loaded from ${record.source}; unload it before loading it from ${source}.`,
        );
      this.remember(cards);
      return {
        object: 'lora_adapter',
        lora_name: name,
        status: 'loaded',
        changed: false,
        ...(card.root ? { path: card.root } : {}),
        ...(record ? { source: record.source } : {}),
      };
    }

    let path: string;
    let artifactKey: string | undefined;
    try {
      const local = await this.options.artifacts.localPath(source);
      if (local !== undefined) path = local;
      else {
        const info = await this.options.artifacts.download(source, { force });
        path = info.path;
        artifactKey = info.key;
      }
    } catch (err) {
      const failure =
        err instanceof BrixError ? err : new UpstreamError(`Could not fetch adapter '${name}': ${(err as Error)?.message}`);
      this.publish('load-failed', name, { source, reason: failure.message });
      throw failure;
    }

    try {
      await this.call((signal) => this.options.engine.loadLoraAdapter({ lora_name: name, lora_path: path }, signal));
    } catch (err) {
      const mapped = engineFailure(err, `load adapter '${name}'`, 'adapter');
      this.publish('load-failed', name, { source, reason: mapped.message });
      throw mapped;
    }
    const after = await this.models('load');
    if (!after.some((c) => c.id === name && isAdapter(c))) {
      const err = new UpstreamError(`The engine accepted adapter '${name}' but does not list it in /v1/models.`);
      this.publish('load-failed', name, { source, reason: err.message });
      throw err;
    }
    this.records.set(name, { source, path, ...(artifactKey ? { artifactKey } : {}) });
    this.generation++;
    this.remember(after);
    this.publish('loaded', name, { source });
    logger.info({ adapter: name, source, path }, 'adapter loaded');
    return { object: 'lora_adapter', lora_name: name, status: 'loaded', changed: true, path, source };
  }

  private async doUnload(name: string, deleteFiles: boolean): Promise<AdapterResult> {
    const cards = await this.models('unload');
    const card = cards.find((c) => c.id === name);
    if (card && !isAdapter(card))
      throw new BadRequestError(`'${name}' is a base model of this engine, not an adapter.`, { param: 'lora_name' });
    const record = this.records.get(name);
    const root = card?.root ?? this.known.get(name) ?? record?.path ?? null;

    let changed = false;
    let remaining = cards;
    if (card) {
      try {
        await this.call((signal) => this.options.engine.unloadLoraAdapter({ lora_name: name }, signal));
      } catch (err) {
        // Gone meanwhile (another client, or an engine restart): the goal is reached.
        if (!(err instanceof EngineRequestError && err.status === 404))
          throw engineFailure(err, `unload adapter '${name}'`, 'adapter');
      }
      remaining = await this.models('unload');
      if (remaining.some((c) => c.id === name))
        throw new UpstreamError(`The engine acknowledged unloading adapter '${name}' but still lists it in /v1/models.`);
      changed = true;
    }
    const wasKnown = this.known.has(name);
    this.records.delete(name);
    this.generation++;
    this.remember(remaining);
    // Announce the change when this sidecar had listed the adapter, even if it left by other means.
    if (changed || wasKnown) this.publish('unloaded', name, record ? { source: record.source } : {});

    let filesDeleted = false;
    if (deleteFiles) {
      const key = record?.artifactKey ?? this.cacheKeyOf(root);
      const inUse = remaining.some((c) => isAdapter(c) && c.root && root && c.root === root);
      if (key && !inUse) filesDeleted = await this.options.artifacts.remove(key);
    }
    if (changed) this.options.logger.info({ adapter: name, filesDeleted }, 'adapter unloaded');
    return {
      object: 'lora_adapter',
      lora_name: name,
      status: 'unloaded',
      changed,
      ...(root ? { path: root } : {}),
      ...(record ? { source: record.source } : {}),
      ...(deleteFiles ? { files_deleted: filesDeleted } : {}),
    };
  }

  /** The cache key of a path directly inside the artifact cache, or undefined. */
  private cacheKeyOf(path: string | null): string | undefined {
    if (!path) return undefined;
    const rel = relative(this.options.artifacts.cacheDir, path);
    if (rel === '' || rel.startsWith('..') || rel.includes(sep) || rel.startsWith('.')) return undefined;
    return rel;
  }

  private async models(operation: 'load' | 'unload'): Promise<EngineModelCard[]> {
    try {
      return await this.call((signal) => this.options.engine.listModels(signal));
    } catch (err) {
      throw engineFailure(err, `list the engine's models before the adapter ${operation}`);
    }
  }

  /** Runs one engine call with the configured timeout (on the injected clock). */
  private async call<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    const timer = this.options.clock.setTimer(this.options.engineTimeoutMs, () => controller.abort());
    try {
      return await fn(controller.signal);
    } finally {
      this.options.clock.clearTimer(timer);
    }
  }

  /** Replaces the known list with the adapters among `cards`; tells onChange when it differs. */
  private remember(cards: readonly EngineModelCard[]): { added: string[]; removed: string[] } {
    const next = new Map<string, string | null>();
    for (const c of cards) if (isAdapter(c)) next.set(c.id, c.root ?? null);
    const added = [...next.keys()].filter((n) => !this.known.has(n));
    const removed = [...this.known.keys()].filter((n) => !next.has(n));
    this.known = next;
    return { added, removed };
  }

  private async poll(reason?: string): Promise<void> {
    const generation = this.generation;
    let cards: EngineModelCard[];
    try {
      cards = await this.call((signal) => this.options.engine.listModels(signal));
    } catch (err) {
      this.options.logger.debug({ err }, 'adapter poll failed');
      return;
    }
    // A load or unload finished while the list was read: the list may predate it.
    if (generation !== this.generation) return;
    // Adapters with an operation in flight keep the state they have here; the operation will publish.
    const busy = new Set(this.ops.keys());
    const filtered = cards.filter((c) => !busy.has(c.id));
    for (const name of busy)
      if (this.known.has(name)) filtered.push({ id: name, parent: this.options.model, root: this.known.get(name) ?? null });
    const { added, removed } = this.remember(filtered);
    for (const name of added)
      this.publish('loaded', name, this.records.has(name) ? { source: this.records.get(name)!.source } : {});
    // Records stay: they remember where an adapter came from, for a reload and for deleting its files.
    for (const name of removed) this.publish('unloaded', name, reason ? { reason } : {});
    if (added.length + removed.length > 0) this.options.logger.info({ added, removed, reason }, 'adapters changed on the engine');
  }

  private schedule(ms: number): void {
    this.timer = this.options.clock.setTimer(ms, () => {
      this.timer = undefined;
      if (!this.running) return;
      void this.refresh().then(() => {
        // Interval 0: only the first look (and refreshes on demand).
        if (this.running && this.options.pollIntervalMs > 0) this.schedule(this.options.pollIntervalMs);
      });
    });
  }

  private publish(kind: AdapterEventKind, adapter: string, extra: { source?: string; reason?: string }): void {
    publishEvent(
      this.options.bus,
      AdapterEvents,
      { model: this.options.model },
      { v: 1, model: this.options.model, adapter, pod: this.options.pod, kind, ts: this.options.clock.now(), ...extra },
    );
  }
}

/** Turns a failed engine call into the sidecar's answer: the engine's message, a status that says whose fault. */
export function engineFailure(err: unknown, action: string, route: 'adapter' | 'other' = 'other'): BrixError {
  if (err instanceof BrixError) return err;
  if (!(err instanceof EngineRequestError))
    return new UpstreamError(`Could not ${action}: ${(err as Error)?.message ?? String(err)}`);
  const said = err.engineMessage;
  if (err.timedOut) return new UpstreamTimeoutError(`Could not ${action}: the engine did not answer in time.`, { cause: err });
  if (err.status === undefined) return new UpstreamError(`Could not ${action}: ${said}`, { cause: err });
  if (err.status === 404 && err.engineType !== 'NotFoundError' && route === 'adapter')
    // vLLM's own 404s are NotFoundErrors; any other 404 on an adapter route (FastAPI's {"detail":"Not
    // Found"}) means the route does not exist: vLLM registers it only when runtime LoRA updating is allowed.
    return new UpstreamError(
      `Could not ${action}: the engine offers no runtime adapter loading (vLLM needs VLLM_ALLOW_RUNTIME_LORA_UPDATING=true).`,
      { cause: err },
    );
  const message = `Could not ${action}; the engine answered ${err.status}: ${said}`;
  if (err.status === 404) return new NotFoundError(message, { cause: err });
  if (err.status === 409) return new ConflictError(message);
  if (err.status >= 400 && err.status < 500) return new BadRequestError(message, { cause: err });
  return new UpstreamError(message, { cause: err });
}
