import { Rng, type TimerHandle, VirtualClock } from '@brix/clock';
import { BrixError } from '@brix/contracts';
import { BlockHasher } from '@brix/block-hash';
import {
  type EngineConfig,
  type EngineSnapshot,
  type FinishedRequest,
  type RequestObserver,
  requestIntervals,
  SimEngine,
} from '@brix/engine-model';
import { type EngineView, type RequestOutcome } from '@brix/routing';
import { type ClusterSimConfig, type ClusterSimConfigInput, resolveClusterSimConfig, type SimEngineSpec } from './config';
import { ClusterSimConfigError, RoutingPolicyError, WorkloadError } from './errors';
import { type RoutingPolicy } from './policy';
import {
  coefficientOfVariation,
  type EngineReport,
  type RequestRecord,
  type RequestStatus,
  Samples,
  type SimReport,
  summarize,
} from './report';
import { SimRoutingRequest } from './routing-request';
import { LoadReporter, SimEngineView } from './views';
import { asWorkload, type SimRequest, type Workload, type WorkloadInput } from './workload/workload';

/** Hooks for tools and tests that want to watch a run; none of them may change it. */
export interface ClusterSimObservers {
  /** After each routing decision, with the views the policy was given (read them now: they change in place). */
  onRouted?(request: SimRoutingRequest, engineId: string, candidates: readonly EngineView[], nowMs: number): void;
  /** Each load report as it reaches the gateway's view of the engine. */
  onLoadReport?(engineId: string, snapshot: EngineSnapshot, nowMs: number): void;
  /** Each request's outcome, when it reaches the gateway. */
  onFinished?(record: RequestRecord): void;
}

export interface ClusterSimDeps {
  policy: RoutingPolicy;
  workload: WorkloadInput;
  observers?: ClusterSimObservers;
}

/** How an engine leaves: `drain` stops routing to it and lets its requests finish; `kill` aborts them too. */
export type RemoveMode = 'drain' | 'kill';

type EngineState = 'starting' | 'ready' | 'draining' | 'gone';

interface EngineEntry {
  readonly id: string;
  readonly engine: SimEngine;
  readonly view: SimEngineView;
  readonly reporter: LoadReporter;
  state: EngineState;
  tick: TimerHandle | null;
  // Accumulated for the report.
  requests: number;
  promptTokens: number;
  outputTokens: number;
  cachedTokens: number;
  runningMs: number;
  waitingMs: number;
}

/** One routed request between the gateway and its engine. It is the engine's observer for the request. */
class Flight implements RequestObserver {
  constructor(
    readonly sim: ClusterSim,
    readonly request: SimRoutingRequest,
    readonly source: SimRequest,
    readonly entry: EngineEntry,
    readonly arrivalMs: number,
    /** What the gateway adds to the engine's in-flight tokens: prompt + expected output. */
    readonly tokens: number,
  ) {}

  onFinish(result: FinishedRequest): void {
    this.sim.engineFinished(this, result);
  }
}

const NO_USAGE: RequestOutcome = Object.freeze({ promptTokens: 0, completionTokens: 0, ok: false });

/**
 * A discrete-event simulation of a cluster of engine models behind a gateway, in virtual time.
 *
 * Every engine is an `@brix/engine-model` SimEngine on one VirtualClock. Requests arrive from a workload; at
 * arrival the simulated gateway builds the RoutingRequest (exact prompt tokens, expected output, lazily
 * hashed prefix blocks) and the candidate EngineViews (ready engines of the model that serve the adapter),
 * asks the policy, counts the request in flight on the chosen engine, and submits it after the network hop.
 * Views carry the engines' load as of their latest periodic report (stale by up to the reporting interval)
 * and the gateway's exact in-flight counts. When the answer gets back, the request leaves the in-flight
 * counts, the policy is told (`completed`), and the outcome is recorded. The same seed gives the same run.
 *
 * `addEngine` / `removeEngine` change the cluster while it runs (from timers on `clock`), as an autoscaler or
 * a failure would.
 */
export class ClusterSim {
  readonly config: ClusterSimConfig;
  readonly clock = new VirtualClock(0);
  private readonly policy: RoutingPolicy;
  private readonly workload: Workload;
  private readonly observers: ClusterSimObservers;
  private readonly routingRng: Rng;
  private readonly phaseRng: Rng;
  private readonly entries = new Map<string, EngineEntry>();
  private readonly candidatesByModel = new Map<string, SimEngineView[]>();
  private readonly prefixHasher: BlockHasher;
  private readonly defaultModel: string | undefined;
  private iterator: Iterator<SimRequest> | null = null;
  private exhausted = false;
  private started = false;
  private lastOpenArrivalMs = -Infinity;
  private pendingArrivals = 0;
  private routed = 0;
  private seq = 0;
  private engineSeq = 0;

  // Aggregates.
  private readonly counts: Record<RequestStatus, number> = { ok: 0, rejected: 0, failed: 0, aborted: 0 };
  private total = 0;
  private firstArrivalMs = Infinity;
  private lastFinishMs = -Infinity;
  private readonly ttft = new Samples();
  private readonly itl = new Samples();
  private readonly e2e = new Samples();
  private readonly queue = new Samples();
  private promptTokens = 0;
  private outputTokens = 0;
  private cachedTokens = 0;
  private readonly records: RequestRecord[] = [];

  constructor(config: ClusterSimConfigInput, deps: ClusterSimDeps) {
    this.config = resolveClusterSimConfig(config);
    this.policy = deps.policy;
    this.workload = asWorkload(deps.workload);
    this.observers = deps.observers ?? {};
    const root = new Rng(this.config.seed);
    this.routingRng = root.fork();
    this.phaseRng = root.fork();
    this.prefixHasher = new BlockHasher(this.config.prefixBlockTokens, 0);
    for (const spec of this.config.engines) this.addEngine(spec);
    const first = this.entries.values().next().value;
    this.defaultModel = first?.view.model;
  }

  /** Whether requests are still to come or in flight; periodic work (load reports, controllers) stops when not. */
  get active(): boolean {
    return !this.exhausted || this.pendingArrivals > 0 || this.routed > 0;
  }

  /** Ids of every engine added so far, removed ones included, in the order they were added. */
  engineIds(): string[] {
    return [...this.entries.keys()];
  }

  /** The gateway's view of an engine (what policies see). */
  view(id: string): EngineView | undefined {
    return this.entries.get(id)?.view;
  }

  /** The engine model itself, for tools and tests that inspect it. */
  engine(id: string): SimEngine | undefined {
    return this.entries.get(id)?.engine;
  }

  /**
   * Adds an engine now; it takes traffic once its `startupMs` have passed (its first load report arrives then).
   * Returns its id. Throws ClusterSimConfigError for a taken id, EngineConfigError for an impossible engine.
   */
  addEngine(spec: SimEngineSpec): string {
    const index = this.engineSeq++;
    const id = spec.id ?? `engine-${index}`;
    if (this.entries.has(id)) throw new ClusterSimConfigError(`engine id "${id}" is taken`);
    const { id: _id, capacity, startupMs, ...engineFields } = spec;
    const engineConfig: EngineConfig = {
      ...engineFields,
      frontendLatencyMs: spec.frontendLatencyMs ?? this.config.defaultFrontendLatencyMs,
      // Distinct engines draw distinct output lengths and token ids unless told otherwise.
      seed: spec.seed ?? this.config.seed * 1000 + index,
    };
    const engine = new SimEngine(engineConfig, { clock: this.clock });
    const c = engine.config;
    const view = new SimEngineView(
      id,
      c.model.id,
      c.gpu.id,
      capacity ?? this.config.capacityByGpu[c.gpu.id] ?? 1,
      c.maxNumSeqs,
      c.enableLora ? c.maxLoras : undefined,
      this.clock,
      this.config.staleAfterMs,
    );
    const entry: EngineEntry = {
      id,
      engine,
      view,
      reporter: new LoadReporter(view),
      state: 'starting',
      tick: null,
      requests: 0,
      promptTokens: 0,
      outputTokens: 0,
      cachedTokens: 0,
      runningMs: 0,
      waitingMs: 0,
    };
    this.entries.set(id, entry);
    const delay = startupMs ?? 0;
    if (delay > 0) this.clock.setTimer(delay, () => this.markReady(entry));
    else this.markReady(entry);
    return id;
  }

  /**
   * Takes an engine out of the cluster now: it is no longer a candidate, the policy hears `engineRemoved`, and
   * its load reports stop. `drain` (default) lets its requests finish; `kill` aborts them (the clients see errors).
   */
  removeEngine(id: string, mode: RemoveMode = 'drain'): void {
    const entry = this.entries.get(id);
    if (!entry || entry.state === 'gone' || entry.state === 'draining') return;
    entry.view.ready = false;
    entry.state = mode === 'kill' ? 'gone' : 'draining';
    if (entry.tick) this.clock.clearTimer(entry.tick);
    entry.tick = null;
    this.rebuildCandidates();
    this.policy.engineRemoved?.(id);
    if (mode === 'kill') entry.engine.stop();
    else if (entry.view.inFlight === 0) entry.state = 'gone';
  }

  /** Runs the workload to the end (every request answered or refused) and returns the report. Once per instance. */
  run(): SimReport {
    if (this.started) throw new Error('ClusterSim.run: a simulation runs once; build a new one');
    this.started = true;
    this.iterator = this.workload.requests();
    this.pullNext();
    this.clock.runAll();
    if (this.routed !== 0) throw new Error(`ClusterSim.run: ${this.routed} requests never finished (engine model bug)`);
    return this.report();
  }

  // ------------------------------------------------------------------ engines and load reports

  private markReady(entry: EngineEntry): void {
    if (entry.state !== 'starting') return;
    entry.state = 'ready';
    entry.view.ready = true;
    this.rebuildCandidates();
    this.report1(entry);
    const interval = this.config.loadReportIntervalMs;
    // The first scrape comes at a seeded phase within the interval, then one every interval.
    const phase = this.config.staggerLoadReports ? interval * (1 - this.phaseRng.next()) : interval;
    entry.tick = this.clock.setTimer(phase, () => this.onTick(entry));
  }

  private onTick(entry: EngineEntry): void {
    entry.tick = null;
    if (entry.state !== 'ready') return;
    this.report1(entry);
    if (this.active || !this.started)
      entry.tick = this.clock.setTimer(this.config.loadReportIntervalMs, () => this.onTick(entry));
  }

  private report1(entry: EngineEntry): void {
    const now = this.clock.now();
    const snapshot = entry.engine.snapshot();
    entry.reporter.report(snapshot, now);
    this.observers.onLoadReport?.(entry.id, snapshot, now);
  }

  private rebuildCandidates(): void {
    this.candidatesByModel.clear();
    for (const e of this.entries.values()) {
      if (!e.view.ready) continue;
      let list = this.candidatesByModel.get(e.view.model);
      if (!list) this.candidatesByModel.set(e.view.model, (list = []));
      list.push(e.view);
    }
  }

  private knowsModel(model: string): boolean {
    for (const e of this.entries.values()) if (e.state !== 'gone' && e.view.model === model) return true;
    return false;
  }

  /** As the gateway: ready engines of the model; for an adapter, only those serving it. */
  private candidates(model: string, adapter: string | undefined): readonly SimEngineView[] {
    const all = this.candidatesByModel.get(model);
    if (!all) return [];
    return adapter === undefined ? all : all.filter((v) => v.loadedAdapters.has(adapter));
  }

  // ------------------------------------------------------------------ arrivals and routing

  private pullNext(): void {
    const next = this.iterator!.next();
    if (next.done) {
      this.exhausted = true;
      return;
    }
    const request = next.value;
    const at = request.arrivalMs;
    if (!Number.isFinite(at))
      throw new WorkloadError(`request ${request.id ?? `#${this.seq}`}: arrivalMs ${at} is not a finite number`);
    if (at < this.lastOpenArrivalMs || at < this.clock.now()) {
      throw new WorkloadError(
        `request ${request.id ?? `#${this.seq}`} arrives at ${at} ms, before the previous arrival (${this.lastOpenArrivalMs} ms): ` +
          'a workload must yield requests in arrival order',
      );
    }
    this.lastOpenArrivalMs = at;
    this.pendingArrivals++;
    this.clock.setTimer(at - this.clock.now(), () => {
      this.pendingArrivals--;
      this.arrive(request);
      this.pullNext();
    });
  }

  /** Follow-ups from a closed-loop workload (`Workload.onFinished`). */
  private readonly submitFollowUp = (request: SimRequest): void => {
    const at = request.arrivalMs;
    if (!Number.isFinite(at) || at < this.clock.now()) {
      throw new WorkloadError(`follow-up ${request.id ?? ''} arrives at ${at} ms, before now (${this.clock.now()} ms)`);
    }
    this.pendingArrivals++;
    this.clock.setTimer(at - this.clock.now(), () => {
      this.pendingArrivals--;
      this.arrive(request);
    });
  };

  private arrive(source: SimRequest): void {
    const now = this.clock.now();
    const id = source.id ?? `r${this.seq}`;
    this.seq++;
    this.total++;
    if (now < this.firstArrivalMs) this.firstArrivalMs = now;
    const model = source.model ?? this.defaultModel ?? '';
    const maxTokens = source.maxTokens ?? this.config.defaultMaxTokens;
    const request = new SimRoutingRequest(
      id,
      model,
      source.adapter,
      source.user,
      source.sessionId,
      source.promptTokenIds.length,
      maxTokens,
      source.promptTokenIds,
      this.prefixHasher,
    );
    const candidates = this.candidates(model, source.adapter);
    if (candidates.length === 0) {
      // As the gateway: a model nobody serves is unknown (404); a known one without a ready engine is busy (503).
      this.refuse(request, source, now, this.knowsModel(model) ? 'no_capacity' : 'model_not_found');
      return;
    }
    let engineId: string;
    try {
      engineId = this.policy.route(request, candidates, { now, rng: this.routingRng }, source.strategy);
    } catch (err) {
      if (err instanceof BrixError) {
        this.refuse(request, source, now, err.code);
        return;
      }
      throw err;
    }
    const entry = this.entries.get(engineId);
    if (!entry || !candidates.includes(entry.view)) {
      throw new RoutingPolicyError(
        this.policy.name,
        `chose \`${engineId}\`, which is not one of the ${candidates.length} candidates`,
      );
    }
    const tokens = request.promptTokens + maxTokens;
    entry.view.inFlight++;
    entry.view.inFlightTokens += tokens;
    this.routed++;
    const flight = new Flight(this, request, source, entry, now, tokens);
    this.observers.onRouted?.(request, engineId, candidates, now);
    const net = this.config.networkLatencyMs;
    if (net > 0) this.clock.setTimer(net, () => this.submit(flight));
    else this.submit(flight);
  }

  private submit(flight: Flight): void {
    const { entry, source } = flight;
    if (entry.state === 'gone') {
      // Killed while the request was on the wire: the gateway sees a refused connection.
      this.afterNetwork(() => this.failed(flight, 'upstream_error'));
      return;
    }
    try {
      entry.engine.submit(
        {
          id: flight.request.id,
          promptTokenIds: source.promptTokenIds,
          maxTokens: source.maxTokens,
          naturalOutputTokens: source.outputTokens,
          adapter: source.adapter ?? null,
          arrivalTimeMs: this.clock.now(),
        },
        flight,
      );
    } catch (err) {
      if (!(err instanceof BrixError)) throw err;
      // The engine answered with an error; it travels back like any answer.
      const code = err.code;
      this.afterNetwork(() => this.failed(flight, code));
      return;
    }
  }

  /** Called by the engine (through the flight) when a request ends there. */
  engineFinished(flight: Flight, result: FinishedRequest): void {
    this.afterNetwork(() => this.answered(flight, result));
  }

  private afterNetwork(fn: () => void): void {
    const net = this.config.networkLatencyMs;
    if (net > 0) this.clock.setTimer(net, fn);
    else fn();
  }

  // ------------------------------------------------------------------ outcomes

  private leaveFlight(flight: Flight): void {
    const v = flight.entry.view;
    v.inFlight = Math.max(0, v.inFlight - 1);
    v.inFlightTokens = Math.max(0, v.inFlightTokens - flight.tokens);
    this.routed--;
    // A draining engine stays up until every request routed to it has been answered.
    if (flight.entry.state === 'draining' && v.inFlight === 0) flight.entry.state = 'gone';
  }

  private answered(flight: Flight, f: FinishedRequest): void {
    this.leaveFlight(flight);
    const now = this.clock.now();
    const net = this.config.networkLatencyMs;
    const entry = flight.entry;
    const ok = f.finishReason !== 'abort';
    // As the gateway: usage is known only from a complete answer.
    this.policy.completed?.(
      flight.request,
      entry.id,
      ok ? { promptTokens: f.promptTokens, completionTokens: f.outputTokens, ok: true } : NO_USAGE,
    );
    const iv = requestIntervals(f);
    const t = f.timings;
    const record: RequestRecord = {
      id: flight.request.id,
      model: flight.request.model,
      adapter: f.adapter,
      user: flight.request.user ?? null,
      sessionId: flight.request.sessionId ?? null,
      engineId: entry.id,
      status: ok ? 'ok' : 'aborted',
      errorCode: ok ? null : 'upstream_error',
      finishReason: f.finishReason,
      arrivalMs: flight.arrivalMs,
      finishedMs: now,
      ttftMs: t.firstTokenMs !== null ? t.firstTokenMs + net - flight.arrivalMs : null,
      itlMs: iv.tpotMs,
      e2eMs: now - flight.arrivalMs,
      queueMs: iv.queueMs,
      promptTokens: f.promptTokens,
      outputTokens: f.outputTokens,
      cachedTokens: f.cachedPromptTokens,
      preemptions: f.preemptions,
    };
    entry.requests++;
    if (t.firstScheduledMs !== null) entry.runningMs += (t.lastTokenMs ?? t.finishedMs) - t.firstScheduledMs;
    if (iv.queueMs !== null) entry.waitingMs += iv.queueMs;
    if (ok) {
      entry.promptTokens += f.promptTokens;
      entry.outputTokens += f.outputTokens;
      entry.cachedTokens += f.cachedPromptTokens;
      this.promptTokens += f.promptTokens;
      this.outputTokens += f.outputTokens;
      this.cachedTokens += f.cachedPromptTokens;
      if (record.ttftMs !== null) this.ttft.push(record.ttftMs);
      if (record.itlMs !== null) this.itl.push(record.itlMs);
      if (record.queueMs !== null) this.queue.push(record.queueMs);
      this.e2e.push(record.e2eMs);
    }
    this.finish(record);
  }

  private failed(flight: Flight, code: string): void {
    this.leaveFlight(flight);
    this.policy.completed?.(flight.request, flight.entry.id, NO_USAGE);
    this.finish(this.emptyRecord(flight.request, flight.source, flight.arrivalMs, flight.entry.id, 'failed', code));
  }

  private refuse(request: SimRoutingRequest, source: SimRequest, now: number, code: string): void {
    this.finish(this.emptyRecord(request, source, now, null, 'rejected', code));
  }

  private emptyRecord(
    request: SimRoutingRequest,
    source: SimRequest,
    arrivalMs: number,
    engineId: string | null,
    status: RequestStatus,
    code: string,
  ): RequestRecord {
    const now = this.clock.now();
    return {
      id: request.id,
      model: request.model,
      adapter: source.adapter ?? null,
      user: request.user ?? null,
      sessionId: request.sessionId ?? null,
      engineId,
      status,
      errorCode: code,
      finishReason: null,
      arrivalMs,
      finishedMs: now,
      ttftMs: null,
      itlMs: null,
      e2eMs: now - arrivalMs,
      queueMs: null,
      promptTokens: request.promptTokens,
      outputTokens: 0,
      cachedTokens: 0,
      preemptions: 0,
    };
  }

  private finish(record: RequestRecord): void {
    this.counts[record.status]++;
    if (record.finishedMs > this.lastFinishMs) this.lastFinishMs = record.finishedMs;
    if (this.config.recordRequests) this.records.push(record);
    this.observers.onFinished?.(record);
    this.workload.onFinished?.(record, this.submitFollowUp);
  }

  // ------------------------------------------------------------------ report

  private report(): SimReport {
    const durationMs = this.total > 0 ? Math.max(0, this.lastFinishMs - this.firstArrivalMs) : 0;
    const seconds = durationMs / 1000;
    const per = (n: number) => (seconds > 0 ? n / seconds : 0);
    const engines: EngineReport[] = [];
    for (const e of this.entries.values()) {
      const c = e.engine.snapshot().counters;
      engines.push({
        id: e.id,
        model: e.view.model,
        gpu: e.view.gpuType,
        requests: e.requests,
        promptTokens: e.promptTokens,
        outputTokens: e.outputTokens,
        cachedTokens: e.cachedTokens,
        meanRunning: durationMs > 0 ? e.runningMs / durationMs : 0,
        meanWaiting: durationMs > 0 ? e.waitingMs / durationMs : 0,
        busyFraction: durationMs > 0 ? Math.min(1, c.busyMs / durationMs) : 0,
        preemptions: c.preemptions,
      });
    }
    return {
      policy: this.policy.name,
      workload: this.workload.name ?? 'workload',
      seed: this.config.seed,
      requests: { total: this.total, ...this.counts },
      durationMs,
      ttftMs: summarize(this.ttft.values()),
      itlMs: summarize(this.itl.values()),
      e2eMs: summarize(this.e2e.values()),
      queueMs: summarize(this.queue.values()),
      throughput: {
        requestsPerSec: per(this.counts.ok),
        outputTokensPerSec: per(this.outputTokens),
        promptTokensPerSec: per(this.promptTokens),
      },
      tokens: { prompt: this.promptTokens, output: this.outputTokens, cached: this.cachedTokens },
      prefixCacheHitRate: this.promptTokens > 0 ? this.cachedTokens / this.promptTokens : 0,
      engines,
      loadSpread: {
        requestsCv: coefficientOfVariation(engines.map((e) => e.requests)),
        meanRunningCv: coefficientOfVariation(engines.map((e) => e.meanRunning)),
        outputTokensCv: coefficientOfVariation(engines.map((e) => e.outputTokens)),
      },
      perRequest: this.records,
    };
  }
}

/** Builds a {@link ClusterSim}, runs it to the end and returns its report. */
export function runClusterSim(config: ClusterSimConfigInput, deps: ClusterSimDeps): SimReport {
  return new ClusterSim(config, deps).run();
}
