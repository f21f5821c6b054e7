import { type Clock } from '@brix/clock';
import { type EngineLifecycleEvent } from '@brix/contracts';
import { type EngineInfo, type MemoryEngineDirectory } from '@brix/discovery';

/** What to start for one engine replica. */
export interface EngineLaunchSpec {
  /** Engine id, unique in the stack: `<model-slug>-<n>`. */
  id: string;
  model: string;
  gpuType?: string;
  /** Port the engine should listen on. */
  port: number;
}

/** A started engine process (or any engine the launcher brought up). */
export interface LaunchedEngine {
  /** Base URL of the engine's OpenAI-compatible server. */
  url: string;
  /** Resolves when the engine answers its health check. */
  ready: Promise<void>;
  /** Resolves with the exit code when the engine stops for any reason. */
  exited: Promise<number | null>;
  /** Stops the engine gracefully (then forcefully). */
  stop(): Promise<void>;
}

export type EngineLauncher = (spec: EngineLaunchSpec) => Promise<LaunchedEngine>;

/** Something started beside an engine (the ai-runtime sidecar); closed with its engine. */
export interface Sidecar {
  url: string;
  close(): Promise<void>;
}

export interface SupervisorOptions {
  directory: MemoryEngineDirectory;
  launch: EngineLauncher;
  /** Allocates a port for a new engine. */
  allocatePort: () => Promise<number>;
  clock: Clock;
  /** Starts a sidecar beside a ready engine (embedded mode runs it in-process). */
  attachSidecar?: (engine: EngineInfo) => Promise<Sidecar>;
  /** Announces lifecycle changes (on the bus, as `brix.engine.lifecycle`). */
  announce?: (event: EngineLifecycleEvent) => void;
  /** Restart an engine that exits unexpectedly after this many ms (doubling per crash, up to 30 s); 0 = never. */
  restartDelayMs?: number;
  onError?: (error: unknown, engineId: string) => void;
}

interface Replica {
  spec: EngineLaunchSpec;
  engine?: LaunchedEngine;
  sidecar?: Sidecar;
  stopping: boolean;
  crashes: number;
}

const slug = (model: string) =>
  model
    .replace(/[^A-Za-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .toLowerCase();

/**
 * The local supervisor of embedded mode: starts and stops engine replicas per model, keeps the
 * EngineDirectory in step (ready only once the engine answers its health check), attaches a sidecar
 * beside each engine, restarts engines that crash, and announces every change. It is the embedded
 * adapter of the ScaleTarget idea: `setReplicas(model, n)`.
 */
export class LocalSupervisor {
  private readonly replicas = new Map<string, Replica[]>();
  private readonly specs = new Map<string, { gpuType?: string }>();
  private closed = false;

  constructor(private readonly options: SupervisorOptions) {}

  /** Declares how engines of `model` are launched (GPU type); call before setReplicas. */
  define(model: string, spec: { gpuType?: string } = {}): void {
    this.specs.set(model, spec);
  }

  replicaCount(model: string): number {
    return this.replicas.get(model)?.length ?? 0;
  }

  models(): string[] {
    return [...this.replicas.keys()];
  }

  /** Scales `model` to `n` replicas; resolves when new replicas are ready and removed ones stopped. */
  async setReplicas(model: string, n: number): Promise<void> {
    if (this.closed) throw new Error('the supervisor is closed');
    const list = this.replicas.get(model) ?? [];
    this.replicas.set(model, list);
    const work: Promise<void>[] = [];
    while (list.length < n) {
      const index = this.nextIndex(model, list);
      const port = await this.options.allocatePort();
      const replica: Replica = {
        spec: { id: `${slug(model)}-${index}`, model, gpuType: this.specs.get(model)?.gpuType, port },
        stopping: false,
        crashes: 0,
      };
      list.push(replica);
      work.push(this.start(replica));
    }
    while (list.length > n) {
      // Remove the newest replicas first: the oldest have the warmest caches.
      const replica = list.pop()!;
      work.push(this.stopReplica(replica));
    }
    await Promise.all(work);
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.replicas.values()].flat();
    this.replicas.clear();
    await Promise.all(all.map((r) => this.stopReplica(r)));
  }

  private nextIndex(model: string, list: Replica[]): number {
    const used = new Set(list.map((r) => r.spec.id));
    let i = 0;
    while (used.has(`${slug(model)}-${i}`)) i++;
    return i;
  }

  private announce(
    spec: EngineLaunchSpec,
    phase: EngineLifecycleEvent['phase'],
    extra: Partial<EngineLifecycleEvent> = {},
  ): void {
    this.options.announce?.({
      v: 1,
      model: spec.model,
      pod: spec.id,
      phase,
      ts: this.options.clock.now(),
      ...(spec.gpuType ? { gpuType: spec.gpuType } : {}),
      ...extra,
    });
  }

  private async start(replica: Replica, restarted = false): Promise<void> {
    const { spec } = replica;
    const { directory } = this.options;
    let engine: LaunchedEngine;
    try {
      engine = await this.options.launch(spec);
    } catch (err) {
      this.options.onError?.(err, spec.id);
      this.scheduleRestart(replica);
      return;
    }
    replica.engine = engine;
    const info: EngineInfo = {
      id: spec.id,
      model: spec.model,
      url: engine.url,
      ready: false,
      labels: { 'brix.io/managed-by': 'local-supervisor' },
      ...(spec.gpuType ? { gpuType: spec.gpuType } : {}),
    };
    directory.upsert(info);
    this.announce(spec, 'starting', { url: engine.url });
    void engine.exited.then((code) => this.onExit(replica, engine, code));
    try {
      await engine.ready;
    } catch (err) {
      this.options.onError?.(err, spec.id);
      return;
    }
    if (replica.stopping || replica.engine !== engine) return;
    if (this.options.attachSidecar && !replica.sidecar) {
      try {
        replica.sidecar = await this.options.attachSidecar(info);
      } catch (err) {
        this.options.onError?.(err, spec.id);
      }
    }
    replica.crashes = 0;
    const ready: EngineInfo = { ...info, ready: true, ...(replica.sidecar ? { sidecarUrl: replica.sidecar.url } : {}) };
    directory.upsert(ready);
    this.announce(spec, restarted ? 'restarted' : 'ready', {
      url: engine.url,
      ...(replica.sidecar ? { sidecarUrl: replica.sidecar.url } : {}),
    });
  }

  private onExit(replica: Replica, engine: LaunchedEngine, code: number | null): void {
    if (replica.stopping || replica.engine !== engine) return;
    replica.engine = undefined;
    this.options.directory.patch(replica.spec.id, { ready: false });
    this.announce(replica.spec, 'not-ready', { reason: `engine exited with code ${code}` });
    this.scheduleRestart(replica);
  }

  private scheduleRestart(replica: Replica): void {
    const base = this.options.restartDelayMs ?? 1_000;
    if (base <= 0 || replica.stopping || this.closed) return;
    const delay = Math.min(base * 2 ** replica.crashes, 30_000);
    replica.crashes++;
    this.options.clock.setTimer(delay, () => {
      if (!replica.stopping && !this.closed && !replica.engine) void this.start(replica, true);
    });
  }

  private async stopReplica(replica: Replica): Promise<void> {
    replica.stopping = true;
    const { directory } = this.options;
    if (directory.get(replica.spec.id)) {
      directory.patch(replica.spec.id, { ready: false });
      this.announce(replica.spec, 'draining');
    }
    await replica.sidecar?.close().catch((err) => this.options.onError?.(err, replica.spec.id));
    await replica.engine?.stop().catch((err) => this.options.onError?.(err, replica.spec.id));
    directory.remove(replica.spec.id);
    this.announce(replica.spec, 'gone');
  }
}
