import { type Clock, type TimerHandle } from '@brix/clock';
import { BadRequestError, ConflictError, NotFoundError } from '@brix/contracts';
import { type EngineConfig, type ResolvedEngineConfig, resolveEngineConfig } from './config';
import { EngineCore, type StepPlan } from './core/engine-core';
import { type EngineRequest, type EngineSnapshot, type RequestObserver, type StepRecord } from './core/types';
import { type KvEventBatch } from './kv/events';
import { type OutputLengthSampler, type TokenSource } from './output';

export interface SimEngineDeps {
  /** WallClock for a live engine (engine-sim), a VirtualClock for simulation. */
  clock: Clock;
  /** Called after every step. */
  onStep?: (step: StepRecord) => void;
  /** Called with each step's KV-cache events (only steps that produced some), as vLLM publishes them. */
  onKvEvents?: (batch: KvEventBatch) => void;
  /** Natural output length when a request does not give one (default: ShareGPT-like log-normal). */
  outputLength?: OutputLengthSampler;
  /** Generated token ids (default: uniform over the vocabulary, seeded). */
  tokenSource?: TokenSource;
}

/**
 * A simulated vLLM engine on a {@link Clock}. When there is work it plans a step, asks the latency model how long
 * it takes, sets a timer for that long, and applies the step when the timer fires (tokens, completions, KV events);
 * with no work it sets no timer. Nothing awaits real time, so the same engine runs in wall-clock time behind an
 * HTTP server and in virtual time inside a cluster simulation.
 *
 * Steps run back to back on the engine's own timeline: a step starts where the previous one ended, so timer
 * lateness under a wall clock does not slow the simulated GPU (the timer for a late step fires at once). Times
 * reported for tokens and requests are on that timeline; after an idle spell the timeline restarts at the clock.
 */
export class SimEngine {
  readonly config: ResolvedEngineConfig;
  private readonly core: EngineCore;
  private readonly clock: Clock;
  private readonly deps: SimEngineDeps;
  private stepTimer: TimerHandle | null = null;
  private kickTimer: TimerHandle | null = null;
  /** Inside a step's completion callbacks: submits there join the step that starts right after. */
  private completing = false;
  private plan: StepPlan | null = null;
  /** End of the last step on the engine timeline, ms. */
  private timelineMs = -Infinity;
  private readonly loading = new Set<string>();
  private stopped = false;

  constructor(config: EngineConfig | ResolvedEngineConfig, deps: SimEngineDeps) {
    this.config = 'numGpuBlocks' in config ? config : resolveEngineConfig(config);
    this.clock = deps.clock;
    this.deps = deps;
    this.core = new EngineCore(this.config, {
      kvEvents: deps.onKvEvents !== undefined,
      outputLength: deps.outputLength,
      tokenSource: deps.tokenSource,
    });
  }

  /** Current time on the engine's timeline (never behind the last step's end). */
  now(): number {
    return Math.max(this.clock.now(), this.timelineMs);
  }

  /**
   * Queues a request; it is scheduled at the next step start (at once when idle). Throws on client errors
   * (see {@link EngineCore.add}): nothing is queued then.
   */
  submit(request: EngineRequest, observer?: RequestObserver): void {
    if (this.stopped) throw new BadRequestError('The engine is shutting down.');
    const delay = this.config.frontendLatencyMs;
    const seq = this.core.add(request, this.now(), observer, delay);
    if (delay > 0) {
      this.clock.setTimer(delay, () => {
        this.core.enter(seq, this.now());
        this.kick();
      });
    } else {
      this.kick();
    }
  }

  /** Aborts a request (finish reason "abort"); false when it is unknown or already finished. */
  abort(id: string): boolean {
    const ok = this.core.abort(id, this.now());
    if (ok) this.flushIdleEvents();
    return ok;
  }

  /**
   * Loads a LoRA adapter (vLLM `/v1/load_lora_adapter`): resolves after the configured load time, after which
   * requests may name it. Rejects when LoRA is off (BadRequestError) or the name is taken (ConflictError).
   */
  async loadAdapter(name: string): Promise<void> {
    if (!this.config.enableLora) throw new BadRequestError('LoRA is not enabled on this engine.');
    if (this.core.adapters.get(name) || this.loading.has(name)) {
      throw new ConflictError(`The lora adapter '${name}' has already been loaded.`);
    }
    this.loading.add(name);
    try {
      await this.clock.sleep(this.config.adapterLoadMs);
      this.core.adapters.register(name);
    } finally {
      this.loading.delete(name);
    }
  }

  /** Unloads an adapter (vLLM `/v1/unload_lora_adapter`); NotFoundError when unknown. */
  unloadAdapter(name: string): void {
    if (!this.core.adapters.unregister(name)) throw new NotFoundError(`The lora adapter '${name}' cannot be found.`);
  }

  /** Adapters requests may name. */
  adapters(): string[] {
    return this.core.adapters.names();
  }

  /** Drops the prefix cache when no request holds blocks (vLLM's rule); false otherwise. */
  resetPrefixCache(): boolean {
    const ok = this.core.resetPrefixCache();
    if (ok) this.flushIdleEvents();
    return ok;
  }

  /** Gauges and counters now. */
  snapshot(): EngineSnapshot {
    return this.core.snapshot(this.now());
  }

  get idle(): boolean {
    return this.plan === null && !this.core.hasWork();
  }

  /** Stops stepping: the step in flight is dropped and every live request ends as aborted. Submits are refused after. */
  stop(): void {
    this.stopped = true;
    if (this.stepTimer) this.clock.clearTimer(this.stepTimer);
    if (this.kickTimer) this.clock.clearTimer(this.kickTimer);
    this.stepTimer = null;
    this.kickTimer = null;
    if (this.plan) {
      this.core.cancelStep(this.plan);
      this.plan = null;
    }
    for (const id of this.core.liveRequestIds()) this.core.abort(id, this.now());
  }

  /** The core, for tests and tools that inspect the block pool. */
  get engineCore(): EngineCore {
    return this.core;
  }

  private kick(): void {
    if (this.plan || this.completing || this.kickTimer || this.stopped) return;
    // A zero-delay timer lets requests submitted in the same tick join the same first step.
    this.kickTimer = this.clock.setTimer(0, this.onKick);
  }

  // Timer callbacks bound once (not a closure per step): at most one step and one kick are pending at a time.
  private readonly onKick = (): void => {
    this.kickTimer = null;
    if (!this.plan) this.startStep(Math.max(this.clock.now(), this.timelineMs));
  };

  private readonly onStepEnd = (): void => {
    const plan = this.plan!;
    const endMs = plan.startMs + plan.durationMs;
    this.stepTimer = null;
    this.plan = null;
    this.completing = true;
    try {
      this.finishStep(plan);
    } finally {
      this.completing = false;
    }
    if (this.core.hasWork()) this.startStep(endMs);
  };

  private startStep(startMs: number): void {
    if (this.stopped) return;
    const plan = this.core.schedule(startMs);
    if (!plan) return;
    this.plan = plan;
    const endMs = startMs + plan.durationMs;
    this.stepTimer = this.clock.setTimer(Math.max(0, endMs - this.clock.now()), this.onStepEnd);
  }

  private finishStep(plan: StepPlan): void {
    const endMs = plan.startMs + plan.durationMs;
    this.timelineMs = endMs;
    if (this.deps.onStep) this.deps.onStep(this.core.complete(plan, endMs, true));
    else this.core.complete(plan, endMs);
    this.publishEvents(endMs);
  }

  private flushIdleEvents(): void {
    if (!this.plan) this.publishEvents(this.now());
  }

  private publishEvents(timeMs: number): void {
    if (!this.deps.onKvEvents) return;
    const events = this.core.takeKvEvents();
    if (events.length > 0) this.deps.onKvEvents({ timeMs, events });
  }
}
