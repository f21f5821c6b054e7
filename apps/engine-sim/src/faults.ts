import { type Rng } from '@brix/clock';
import Type, { type Static } from 'typebox';

/**
 * Fault knobs, settable by flag at start and by `PATCH /admin/config` at run time. Draws use the engine's
 * seeded generator, so a run with the same seed and request order injects the same faults.
 */
export const FaultSettings = Type.Object({
  /** Fraction (0..1) of inference requests answered with `errorStatus` before they reach the engine. */
  errorRate: Type.Number({ minimum: 0, maximum: 1, default: 0 }),
  /** 500 (vLLM's answer when the engine fails a request) or 503 (overloaded / unavailable). */
  errorStatus: Type.Union([Type.Literal(500), Type.Literal(503)], { default: 500 }),
  /** Fraction (0..1) of inference requests held back before they reach the engine. */
  latencySpikeRate: Type.Number({ minimum: 0, maximum: 1, default: 0 }),
  /** How long a spiked request is held, simulated ms; it counts in the request's TTFT and e2e latency. */
  latencySpikeMs: Type.Number({ minimum: 0, default: 0 }),
  /** The engine stops stepping (requests hang, nothing streams) and `/health` answers 503. */
  stalled: Type.Boolean({ default: false }),
  /** The process exits (code 1) when inference request N+1 arrives; 0 = never. Counts from process start. */
  crashAfterRequests: Type.Integer({ minimum: 0, default: 0 }),
});
export type FaultSettings = Static<typeof FaultSettings>;

/** `PATCH /admin/config`: any subset of the fault knobs, plus the time scale. */
export const AdminConfigPatch = Type.Object(
  {
    ...Type.Partial(FaultSettings).properties,
    timeScale: Type.Optional(Type.Number({ minimum: 0 })),
  },
  { additionalProperties: false },
);
export type AdminConfigPatch = Static<typeof AdminConfigPatch>;

/** `GET /admin/config`. */
export const AdminConfigView = Type.Object({
  ...FaultSettings.properties,
  timeScale: Type.Number(),
  /** False during the start-up delay. */
  ready: Type.Boolean(),
  /** Inference requests received since start (what crashAfterRequests counts). */
  inferenceRequests: Type.Integer(),
});
export type AdminConfigView = Static<typeof AdminConfigView>;

/** What to do with one arriving inference request. */
export type FaultDecision = { kind: 'serve'; delayMs: number } | { kind: 'error'; status: 500 | 503 } | { kind: 'crash' };

/** Applies the fault knobs to arriving inference requests. */
export class FaultInjector {
  private current: FaultSettings;
  private requests = 0;

  constructor(
    initial: FaultSettings,
    private readonly rng: Rng,
    private readonly onStallChange: (stalled: boolean) => void,
  ) {
    this.current = { ...initial };
    if (initial.stalled) onStallChange(true);
  }

  get settings(): FaultSettings {
    return { ...this.current };
  }

  get inferenceRequests(): number {
    return this.requests;
  }

  update(patch: Partial<FaultSettings>): FaultSettings {
    const wasStalled = this.current.stalled;
    this.current = { ...this.current, ...patch };
    if (this.current.stalled !== wasStalled) this.onStallChange(this.current.stalled);
    return this.settings;
  }

  /** Decides the fate of the next inference request (counts it). */
  admit(): FaultDecision {
    this.requests++;
    const f = this.current;
    if (f.crashAfterRequests > 0 && this.requests > f.crashAfterRequests) return { kind: 'crash' };
    if (f.errorRate > 0 && this.rng.next() < f.errorRate) return { kind: 'error', status: f.errorStatus };
    const spike = f.latencySpikeRate > 0 && f.latencySpikeMs > 0 && this.rng.next() < f.latencySpikeRate;
    return { kind: 'serve', delayMs: spike ? f.latencySpikeMs : 0 };
  }
}
