import { Rng } from '@brix/clock';
import { BadRequestError, ConflictError, ModelNotFoundError } from '@brix/contracts';
import { type ResolvedEngineConfig } from '../config';
import { BlockHasher, hashToBigInt } from '@brix/block-hash';
import { BlockPool } from '../kv/block-pool';
import { type KvEvent, KvEventRecorder } from '../kv/events';
import { LatencyModel, StepWork } from '../latency/step-time';
import { type Adapter, AdapterSet } from '../lora/adapters';
import {
  type FinishReason,
  type OutputLengthSampler,
  type TokenContext,
  type TokenSource,
  decideOutput,
  sharegptLikeOutputLength,
  uniformTokenSource,
} from '../output';
import { Sequence } from './sequence';
import {
  type EngineCounters,
  type EngineRequest,
  type EngineSnapshot,
  type FinishedRequest,
  type RequestObserver,
  type StepRecord,
} from './types';

export interface EngineCoreOptions {
  /** Record KV events (costs `bigint`s per cached block). Default false. */
  kvEvents?: boolean;
  outputLength?: OutputLengthSampler;
  tokenSource?: TokenSource;
}

/** One planned step: the batch, its modelled duration, and what to apply when it ends. */
export interface StepPlan {
  index: number;
  startMs: number;
  durationMs: number;
  /** The batch; the core reuses this array for its next step, so it is valid until the next {@link EngineCore.schedule}. */
  seqs: Sequence[];
  /** The batch's aggregate; reused like `seqs`, so valid until the next {@link EngineCore.schedule}. */
  work: StepWork;
  admitted: number;
  preempted: number;
  adapterLoads: string[];
}

/**
 * The engine without a clock: vLLM V1's scheduler, KV-cache manager and output processing, driven by
 * {@link schedule} (plan a step at a time) and {@link complete} (apply it at a later time). All time is passed
 * in, so the same core runs under a wall clock or a virtual one ({@link SimEngine} does the driving).
 *
 * Scheduling follows `vllm/v1/core/sched/scheduler.py`: one token budget per step shared by prefill chunks and
 * decodes; RUNNING requests first, in order, each taking its next chunk (or one decode token); when blocks run
 * out the most recently admitted running request is preempted by recompute; WAITING requests are admitted in
 * FCFS order only if nothing was preempted, while budget remains and fewer than max_num_seqs run, each starting
 * after its prefix-cache hit; a waiting request whose adapter would exceed max_loras distinct adapters in the
 * batch is skipped (keeps its place); one that cannot get blocks stops admission.
 */
/** Counters of an engine that has done nothing yet. */
export function zeroCounters(): EngineCounters {
  return {
    promptTokens: 0,
    generationTokens: 0,
    preemptions: 0,
    prefixCacheQueries: 0,
    prefixCacheHits: 0,
    requestSuccess: { stop: 0, length: 0, abort: 0 },
    steps: 0,
    busyMs: 0,
    ttftMsSum: 0,
    ttftCount: 0,
    itlMsSum: 0,
    itlCount: 0,
  };
}

export class EngineCore {
  readonly config: ResolvedEngineConfig;
  readonly latency: LatencyModel;
  readonly adapters: AdapterSet;
  private readonly pool: BlockPool;
  private readonly events: KvEventRecorder;
  private readonly hasher: BlockHasher;
  private readonly rng: Rng;
  private readonly outputLength: OutputLengthSampler;
  private readonly tokenSource: TokenSource;
  /**
   * Whether blocks of generated tokens may be cached with their hashes deferred: only without KV events (they
   * carry every hash) and with the default token source (ids from each request's own seeded Rng, so no other
   * request holds the same tokens unless it was given them; a custom source, such as engine-sim's text, may
   * repeat content across requests).
   */
  private readonly deferOutputHashes: boolean;
  /** Serial number of the last request added (owner tags of deferred blocks). */
  private serial = 0;
  private readonly byId = new Map<string, Sequence>();
  private waiting: Sequence[] = [];
  /** Added but still in the frontend (see frontendLatencyMs). */
  private readonly arriving = new Set<Sequence>();
  private running: Sequence[] = [];
  /**
   * Steady decoding, kept beside `running` (same positions) so that a step touches no steady request's object.
   * A request is steady from step `seq.steadyFrom` on while each step only adds one token to it: it needs no new
   * block and does not finish. Its fields then stay as they were after step steadyFrom − 1 and every step it takes
   * adds one to its computed, known and output tokens, its last token coming at that step's end (settle() applies
   * them). `runWake[i]`: the first step at which running[i] needs its own handling again (≤ any current step for a
   * request that is not steady). `runKv[i]`: its tokens computed before step t are runKv[i] + t − 1.
   */
  private readonly runWake: number[] = [];
  private readonly runKv: number[] = [];
  private readonly scratch: Int32Array;
  private stepIndex = 0;
  private inFlight: StepPlan | null = null;
  /** Index of the last step completed (-1: none) and its end time. */
  private lastCompleted = -1;
  private lastEndMs = 0;
  private readonly finishedInStep: Sequence[] = [];
  private readonly stepSeqs: Sequence[] = [];
  /** The blocks of a prefix-cache hit being admitted (findCachedPrefix); only its first entries are current. */
  private readonly hitScratch: number[] = [];
  /** stepSeqs[k] is steady in the step planned (1) or handled on its own (0). A batch holds at most maxNumSeqs. */
  private readonly stepSteady: Uint8Array;
  private readonly stepWork = new StepWork();
  private readonly tokenCtx: TokenContext;
  private stepPromptTokens = 0;
  private stepGenerated = 0;
  readonly counters: EngineCounters = zeroCounters();

  constructor(config: ResolvedEngineConfig, options: EngineCoreOptions = {}) {
    this.config = config;
    this.latency = new LatencyModel(config.model, config.gpu, config.tensorParallelSize, config.calibration);
    this.events = new KvEventRecorder(options.kvEvents === true && config.enablePrefixCaching);
    this.pool = new BlockPool(config.numGpuBlocks, this.events);
    this.hasher = new BlockHasher(config.blockSize, config.hashSeed);
    this.rng = new Rng(config.seed);
    this.outputLength = options.outputLength ?? sharegptLikeOutputLength;
    this.tokenSource = options.tokenSource ?? uniformTokenSource;
    this.deferOutputHashes = !this.events.enabled && this.tokenSource === uniformTokenSource;
    this.adapters = new AdapterSet(config.maxCpuLoras);
    this.scratch = new Int32Array(config.blockSize);
    this.stepSteady = new Uint8Array(config.maxNumSeqs);
    this.tokenCtx = {
      requestId: '',
      index: 0,
      last: false,
      finishReason: 'stop',
      rng: this.rng,
      vocabSize: config.model.vocabSize,
    };
    for (const name of config.loraModules) this.adapters.register(name);
  }

  // ---------------------------------------------------------------- requests

  /**
   * Queues a request (after `enterDelayMs`, when the driver calls {@link enter}). Throws (never queues) on a client error, with vLLM's messages: BadRequestError for an
   * empty or too long prompt or a bad max_tokens, ModelNotFoundError for an unknown adapter, ConflictError for
   * an id already live.
   */
  add(req: EngineRequest, nowMs: number, observer?: RequestObserver, enterDelayMs = 0): Sequence {
    const c = this.config;
    if (this.byId.has(req.id)) throw new ConflictError(`request id ${req.id} is already in use`);
    const promptLen = req.promptTokenIds.length;
    if (promptLen === 0) throw new BadRequestError('The prompt cannot be empty.', { param: 'prompt' });
    if (promptLen >= c.maxModelLen) {
      throw new BadRequestError(
        `This model's maximum context length is ${c.maxModelLen} tokens. However, your request has ${promptLen} input tokens. ` +
          'Please reduce the length of the input messages.',
        { param: 'messages' },
      );
    }
    const maxTokens = req.maxTokens ?? c.maxModelLen - promptLen;
    if (!Number.isInteger(maxTokens) || maxTokens < 1) {
      throw new BadRequestError(`max_tokens must be at least 1, got ${maxTokens}.`, { param: 'max_tokens' });
    }
    if (promptLen + maxTokens > c.maxModelLen) {
      throw new BadRequestError(
        `'max_tokens' or 'max_completion_tokens' is too large: ${maxTokens}. This model's maximum context length is ` +
          `${c.maxModelLen} tokens and your request has ${promptLen} input tokens (${maxTokens} > ${c.maxModelLen} - ${promptLen}).`,
        { param: 'max_tokens' },
      );
    }
    const minTokens = req.minTokens ?? 0;
    if (!Number.isInteger(minTokens) || minTokens < 0) {
      throw new BadRequestError(`min_tokens must be a non-negative integer, got ${minTokens}.`, { param: 'min_tokens' });
    }
    let adapter: Adapter | null = null;
    if (req.adapter) {
      const a = c.enableLora ? this.adapters.get(req.adapter) : undefined;
      if (!a) throw new ModelNotFoundError(req.adapter);
      adapter = a;
    }
    const rng = this.rng.fork();
    const ignoreEos = req.ignoreEos ?? false;
    const natural = ignoreEos
      ? maxTokens
      : (req.naturalOutputTokens ?? this.outputLength(rng, { promptTokens: promptLen, maxTokens }));
    const out = decideOutput({ ignoreEos, minTokens, maxTokens }, natural);
    this.serial = (this.serial + 1) | 0;
    const seq = new Sequence(
      this.serial,
      req.id,
      req.promptTokenIds,
      maxTokens,
      out.tokens,
      out.reason,
      adapter,
      req.arrivalTimeMs ?? nowMs,
      nowMs,
      rng,
      observer,
      c.blockSize,
    );
    this.byId.set(req.id, seq);
    if (enterDelayMs > 0) {
      seq.status = 'arriving';
      this.arriving.add(seq);
    } else {
      this.waiting.push(seq);
    }
    return seq;
  }

  /** Moves a request added with an entry delay into the waiting queue (its QUEUED time is `nowMs`). */
  enter(seq: Sequence, nowMs: number): void {
    if (seq.status !== 'arriving') return;
    this.arriving.delete(seq);
    seq.status = 'waiting';
    seq.queuedMs = nowMs;
    this.waiting.push(seq);
  }

  /**
   * Aborts a live request: at once when it is not in the step in flight, else when that step ends (its token
   * from that step is dropped). Returns false for an unknown or finished request.
   */
  abort(id: string, nowMs: number): boolean {
    const seq = this.byId.get(id);
    if (!seq) return false;
    if (seq.steadyFrom >= 0) {
      this.runWake[this.running.indexOf(seq)] = 0;
      this.settle(seq);
      // Taken out of the steady part of the step in flight, so that the step's end sees the abort.
      if (seq.inStep) this.stepSteady[this.inFlight!.seqs.indexOf(seq)] = 0;
    }
    if (seq.inStep) {
      seq.abortRequested = true;
      return true;
    }
    if (seq.status === 'running') this.removeRunning(this.running.indexOf(seq));
    else if (seq.status === 'arriving') this.arriving.delete(seq);
    else this.waiting.splice(this.waiting.indexOf(seq), 1);
    this.finish(seq, 'abort', nowMs);
    return true;
  }

  /** Ids of requests not finished yet. */
  liveRequestIds(): string[] {
    return [...this.byId.keys()];
  }

  hasWork(): boolean {
    return this.waiting.length > 0 || this.running.length > 0;
  }

  get stepInFlight(): boolean {
    return this.inFlight !== null;
  }

  // ---------------------------------------------------------------- stepping

  /** Plans the next step starting at `startMs`; null when there is nothing to run. */
  schedule(startMs: number): StepPlan | null {
    if (this.inFlight) throw new Error('EngineCore.schedule: a step is already in flight');
    const c = this.config;
    const B = c.blockSize;
    // One batch array and one aggregate per core, reused by every step: only one step is in flight at a time.
    const work = this.stepWork.reset();
    // Filled by index and truncated once at the end: emptying it (length = 0) would drop its storage every step.
    const seqs = this.stepSeqs;
    let count = 0;
    let budget = c.maxNumBatchedTokens;
    let preempted = 0;
    let admitted = 0;

    // RUNNING requests first: each takes its next chunk or decode token.
    const step = this.stepIndex;
    const running = this.running;
    const runWake = this.runWake;
    const runKv = this.runKv;
    const steady = this.stepSteady;
    let i = 0;
    while (i < running.length && budget > 0) {
      if (runWake[i]! > step) {
        // Steady: one decode token, nothing else to do (see runWake). Its object is not touched.
        work.seqs++;
        work.tokens++;
        work.decodeKvTokens += runKv[i]! + step;
        steady[count] = 1;
        seqs[count++] = running[i]!;
        budget--;
        i++;
        continue;
      }
      const seq = running[i]!;
      this.settle(seq);
      const n = Math.min(seq.numTokens - seq.numComputed, budget);
      if (n <= 0) {
        i++;
        continue;
      }
      let scheduled = true;
      // Fast path (most decodes): the token fits the last block and fills no block, so nothing to allocate or cache.
      const fits = seq.numComputed + n <= seq.slotTokens && (seq.numComputed + n) % B !== 0;
      while (!fits && !this.allocateSlots(seq, n, null)) {
        const victim = running[running.length - 1]!;
        this.settle(victim);
        this.removeRunning(running.length - 1);
        this.preempt(victim);
        preempted++;
        if (victim === seq) {
          scheduled = false;
          break;
        }
      }
      if (!scheduled) break;
      work.add(n, seq.numComputed);
      seq.numComputed += n;
      seq.inStep = true;
      steady[count] = 0;
      seqs[count++] = seq;
      budget -= n;
      this.steadyFrom(i, step);
      i++;
    }
    // Running requests the budget did not reach wait this step, so none of them may stay steady. (A guard: with at
    // most one request mid-prefill, and it last, running requests never outnumber the budget's tokens.)
    for (let k = i; k < running.length; k++) {
      if (runWake[k]! > step) {
        runWake[k] = 0;
        this.settle(running[k]!);
      }
    }

    // WAITING requests, only if nothing was preempted.
    if (preempted === 0 && this.waiting.length > 0) {
      // Requests name adapters only on a LoRA engine (add() refuses them otherwise): no set to build without LoRA.
      const loras = c.enableLora ? new Set<number>() : null;
      if (loras) for (let k = 0; k < count; k++) if (seqs[k]!.adapter) loras.add(seqs[k]!.adapter!.intId);
      let skipped: Sequence[] | null = null;
      const hits = this.hitScratch;
      while (this.waiting.length > 0 && budget > 0) {
        if (this.running.length >= c.maxNumSeqs) break;
        const seq = this.waiting[0]!;
        if (seq.adapter && loras && loras.size >= c.maxLoras && !loras.has(seq.adapter.intId)) {
          (skipped ??= []).push(this.waiting.shift()!);
          continue;
        }
        const hitCount = c.enablePrefixCaching ? this.findCachedPrefix(seq) : 0;
        const hitTokens = hitCount * B;
        const n = Math.min(seq.numTokens - hitTokens, budget);
        if (!this.allocateSlots(seq, n, hits, hitCount)) break;
        this.waiting.shift();
        this.running.push(seq);
        this.runWake.push(0);
        this.runKv.push(0);
        admitted++;
        if (seq.numCachedTokens < 0) {
          seq.numCachedTokens = hitTokens;
          seq.firstScheduledMs = Math.max(startMs, seq.queuedMs);
          if (c.enablePrefixCaching && seq.numPreemptions === 0) {
            this.counters.prefixCacheQueries += seq.numTokens;
            this.counters.prefixCacheHits += hitTokens;
          }
        }
        seq.status = 'running';
        work.add(n, hitTokens);
        seq.numComputed = hitTokens + n;
        seq.inStep = true;
        steady[count] = 0;
        seqs[count++] = seq;
        budget -= n;
        this.steadyFrom(this.running.length - 1, step);
        if (seq.adapter && loras) loras.add(seq.adapter.intId);
      }
      if (skipped) this.waiting = skipped.concat(this.waiting);
    }

    // Nothing to run: entries of an earlier step may linger until the next one overwrites them (never read).
    if (count === 0) return null;
    if (seqs.length > count) seqs.length = count;

    // Adapters of the batch: count distinct ones, and load those not in host memory.
    const adapterLoads: string[] = [];
    if (c.enableLora) {
      const seen = new Set<Adapter>();
      for (const s of seqs) if (s.adapter) seen.add(s.adapter);
      work.loraAdapters = seen.size;
      for (const a of seen) if (this.adapters.useInStep(a)) adapterLoads.push(a.name);
      work.adapterLoads = adapterLoads.length;
    }

    const plan: StepPlan = {
      index: this.stepIndex++,
      startMs,
      durationMs: this.latency.stepMs(work, c.adapterLoadMs),
      seqs,
      work,
      admitted,
      preempted,
      adapterLoads,
    };
    this.inFlight = plan;
    return plan;
  }

  /**
   * Applies the step in flight as ended at `endMs`: each request whose known tokens are now all computed
   * samples one token; requests that reach their length finish and free their blocks; pending aborts apply.
   * Returns the step's record when `record` is set (it costs an object and a latency breakdown per step).
   */
  complete(plan: StepPlan, endMs: number, record: true): StepRecord;
  complete(plan: StepPlan, endMs: number, record?: boolean): StepRecord | null;
  complete(plan: StepPlan, endMs: number, record = false): StepRecord | null {
    if (this.inFlight !== plan) throw new Error('EngineCore.complete: not the step in flight');
    this.stepPromptTokens = 0;
    this.stepGenerated = 0;
    const counters = this.counters;
    const seqs = plan.seqs;
    const steady = this.stepSteady;
    // A steady request's last token came at the end of the step before (see runWake).
    const itlMs = endMs - this.lastEndMs;
    let steadyCount = 0;
    for (let k = 0; k < seqs.length; k++) {
      if (steady[k] === 1) {
        // In batch order with the others: the ITL sum is a float sum, its order is part of the result.
        counters.itlMsSum += itlMs;
        steadyCount++;
        continue;
      }
      const seq = seqs[k]!;
      seq.inStep = false;
      if (seq.abortRequested) {
        this.finishedInStep.push(seq);
        continue;
      }
      if (seq.numComputed >= seq.numTokens) this.emitToken(seq, endMs);
    }
    counters.itlCount += steadyCount;
    counters.generationTokens += steadyCount;
    this.stepGenerated += steadyCount;
    this.lastCompleted = plan.index;
    this.lastEndMs = endMs;
    if (this.finishedInStep.length > 0) {
      // Compacted in place: a new array per step would be garbage on every step that finishes a request. A steady
      // request neither finishes nor aborts without leaving the steady state first.
      const running = this.running;
      const runWake = this.runWake;
      const runKv = this.runKv;
      let kept = 0;
      for (let k = 0; k < running.length; k++) {
        const s = running[k]!;
        if (runWake[k]! > plan.index || (s.status === 'running' && !s.abortRequested)) {
          running[kept] = s;
          runWake[kept] = runWake[k]!;
          runKv[kept++] = runKv[k]!;
        }
      }
      running.length = kept;
      runWake.length = kept;
      runKv.length = kept;
      const finished = this.finishedInStep;
      for (let k = 0; k < finished.length; k++) {
        const seq = finished[k]!;
        if (seq.abortRequested) this.finish(seq, 'abort', endMs);
      }
      finished.length = 0;
    }
    this.inFlight = null;
    this.counters.steps++;
    this.counters.busyMs += plan.durationMs;
    if (!record) return null;
    const w = plan.work;
    return {
      index: plan.index,
      startMs: plan.startMs,
      endMs,
      durationMs: plan.durationMs,
      breakdown: this.latency.breakdown(w, this.config.adapterLoadMs),
      scheduledSeqs: w.seqs,
      prefillTokens: w.prefillTokens,
      decodeTokens: w.tokens - w.prefillTokens,
      admitted: plan.admitted,
      preempted: plan.preempted,
      promptTokensCompleted: this.stepPromptTokens,
      generatedTokens: this.stepGenerated,
      iterationTokens: this.stepPromptTokens + this.stepGenerated,
      adapterLoads: plan.adapterLoads,
      running: this.running.length,
      waiting: this.waiting.length,
      kvCacheUsage: this.pool.usage(),
    };
  }

  /** Forgets the step in flight without applying it (engine shutdown); its requests can then be aborted at once. */
  cancelStep(plan: StepPlan): void {
    if (this.inFlight !== plan) return;
    for (let k = 0; k < this.running.length; k++) {
      if (this.runWake[k]! > plan.index) {
        this.runWake[k] = 0;
        this.settle(this.running[k]!);
      }
    }
    for (const seq of plan.seqs) seq.inStep = false;
    this.inFlight = null;
  }

  /** Returns and forgets the KV events recorded since the last call (empty unless enabled). */
  takeKvEvents(): KvEvent[] {
    return this.events.size > 0 ? this.events.take() : [];
  }

  /**
   * Drops the prefix cache, as vLLM's reset_prefix_cache: only when no request holds a block. Records
   * AllBlocksCleared.
   */
  resetPrefixCache(): boolean {
    return this.pool.reset();
  }

  snapshot(nowMs: number): EngineSnapshot {
    const running = new Set<string>();
    const waiting = new Set<string>();
    // Requests name adapters only on a LoRA engine: without LoRA there is nothing to collect (a simulation
    // takes a snapshot per engine every report interval, over batches of hundreds).
    if (this.config.enableLora) {
      for (const s of this.running) if (s.adapter) running.add(s.adapter.name);
      for (const s of this.waiting) if (s.adapter) waiting.add(s.adapter.name);
    }
    return {
      timeMs: nowMs,
      running: this.running.length,
      waiting: this.waiting.length,
      kvCacheUsage: this.pool.usage(),
      cachedBlocks: this.pool.numCachedBlocks,
      counters: { ...this.counters, requestSuccess: { ...this.counters.requestSuccess } },
      lora: {
        maxLoras: this.config.maxLoras,
        running: [...running],
        waiting: [...waiting],
        registered: this.adapters.names(),
        loaded: this.adapters.residentNames(),
      },
    };
  }

  // ---------------------------------------------------------------- internals

  /** Draws the ids of seq's output tokens up to (not including) output index `upTo`, in order. */
  private materialize(seq: Sequence, upTo: number): void {
    const from = seq.numDrawn;
    const out = (seq.output ??= new Array<number>(seq.targetOutput).fill(0));
    if (from >= upTo) return;
    if (this.tokenSource === uniformTokenSource) {
      // The default source inlined: the same draws from the request's Rng, without a call per token.
      const rng = seq.rng;
      const top = this.config.model.vocabSize - 1;
      for (let index = from; index < upTo; index++) out[index] = rng.int(0, top);
      seq.numDrawn = upTo;
      return;
    }
    const ctx = this.tokenCtx;
    ctx.requestId = seq.id;
    ctx.finishReason = seq.finishReason;
    ctx.rng = seq.rng;
    for (let index = from; index < upTo; index++) {
      ctx.index = index;
      ctx.last = index + 1 >= seq.targetOutput;
      out[index] = this.tokenSource(ctx);
      seq.numDrawn = index + 1;
    }
  }

  private emitToken(seq: Sequence, endMs: number): void {
    const index = seq.numOutput;
    const last = index + 1 >= seq.targetOutput;
    seq.numOutput = index + 1;
    seq.numTokens++;
    const counters = this.counters;
    if (seq.firstTokenMs === null) {
      seq.firstTokenMs = endMs;
      counters.promptTokens += seq.numPromptTokens;
      this.stepPromptTokens += seq.numPromptTokens;
      counters.ttftMsSum += endMs - seq.arrivalMs;
      counters.ttftCount++;
    } else {
      counters.itlMsSum += endMs - seq.lastTokenMs!;
      counters.itlCount++;
    }
    seq.lastTokenMs = endMs;
    this.counters.generationTokens++;
    this.stepGenerated++;
    if (seq.streams) {
      this.materialize(seq, index + 1);
      seq.observer!.onToken!(seq.output![index]!, index, endMs);
    }
    if (last) {
      seq.status = 'finished';
      this.finishedInStep.push(seq);
      this.finish(seq, seq.finishReason, endMs);
    }
  }

  private finish(seq: Sequence, reason: FinishReason, nowMs: number): void {
    const blocks = seq.blockIds;
    const deferredFrom = seq.deferredFrom;
    const deferredTo = seq.numCachedBlocks;
    this.pool.freeBlocks(blocks, true, seq.numBlocks, deferredFrom, deferredFrom < 0 ? 0 : deferredTo, seq.serial);
    seq.numBlocks = 0;
    seq.slotTokens = 0;
    seq.status = 'finished';
    this.byId.delete(seq.id);
    this.counters.requestSuccess[reason]++;
    if (!seq.observer?.onFinish) return;
    let ids: number[] | null = null;
    const materialize = (): number[] => {
      if (ids) return ids;
      this.materialize(seq, seq.numOutput);
      // Once the ids are out, a later prompt may repeat them: blocks still cached from this request must be
      // findable, as they would be had they been hashed when filled.
      if (deferredFrom >= 0) this.resolveDeferred(seq, blocks, deferredFrom, deferredTo);
      // The table is sized for the target output; a request cut short (abort) gets only what it generated.
      const out = seq.output!;
      ids = out.length === seq.numOutput ? out : out.slice(0, seq.numOutput);
      return ids;
    };
    const result: FinishedRequest = {
      id: seq.id,
      finishReason: reason,
      adapter: seq.adapter?.name ?? null,
      promptTokens: seq.numPromptTokens,
      outputTokens: seq.numOutput,
      // Drawn when first read: callers that only need counts and times (a cluster simulation) never pay for ids.
      get outputTokenIds() {
        return materialize();
      },
      maxTokens: seq.maxTokens,
      cachedPromptTokens: Math.max(0, seq.numCachedTokens),
      preemptions: seq.numPreemptions,
      timings: {
        arrivalMs: seq.arrivalMs,
        queuedMs: seq.queuedMs,
        firstScheduledMs: seq.firstScheduledMs,
        firstTokenMs: seq.firstTokenMs,
        lastTokenMs: seq.lastTokenMs,
        finishedMs: nowMs,
      },
    };
    seq.observer.onFinish(result);
  }

  /** Removes running[i] and its steady-state entries. */
  private removeRunning(i: number): void {
    this.running.splice(i, 1);
    this.runWake.splice(i, 1);
    this.runKv.splice(i, 1);
  }

  /**
   * Makes running[i] steady from the step after `step` when, as scheduled in `step`, it emits a token at that step's
   * end and then has at least one step before it fills its last slot or block or emits its last token. Token
   * listeners see every token, so a streamed request is never steady.
   */
  private steadyFrom(i: number, step: number): void {
    const seq = this.running[i]!;
    if (seq.streams || seq.numComputed !== seq.numTokens) return;
    const B = this.config.blockSize;
    const c = seq.numComputed;
    // Steps after this one until, in order: the one that emits the last token, the one whose token needs a slot
    // past the table, the one whose token fills a block (each must be handled on its own).
    const steps = Math.min(seq.targetOutput - seq.numOutput - 2, seq.slotTokens - c, (B - ((c + 1) % B)) % B);
    if (steps <= 0) return;
    seq.steadyFrom = step + 1;
    this.runWake[i] = step + 1 + steps;
    this.runKv[i] = c - step;
  }

  /** Applies the decode steps a steady request took (see runWake) to its fields; it is no longer steady. */
  private settle(seq: Sequence): void {
    const from = seq.steadyFrom;
    if (from < 0) return;
    seq.steadyFrom = -1;
    const done = this.lastCompleted + 1 - from;
    if (done > 0) {
      seq.numComputed += done;
      seq.numTokens += done;
      seq.numOutput += done;
      seq.lastTokenMs = this.lastEndMs;
    }
    if (this.inFlight && this.inFlight.index >= from) {
      // Scheduled in the step in flight.
      seq.numComputed++;
      seq.inStep = true;
    }
  }

  private preempt(seq: Sequence): void {
    // Recomputing, the request looks up its own generated blocks: they must be in the table by then. (From now
    // on its blocks are hashed when filled: a recomputed block may meet its own earlier copy.)
    const from = seq.deferredFrom;
    const to = from < 0 ? 0 : seq.numCachedBlocks;
    this.pool.freeBlocks(seq.blockIds, true, seq.numBlocks, from, to, seq.serial);
    if (from >= 0) this.resolveDeferred(seq, seq.blockIds, from, to);
    seq.deferredFrom = -1;
    seq.numBlocks = 0;
    seq.slotTokens = 0;
    seq.numCachedBlocks = 0;
    seq.numComputed = 0;
    seq.status = 'preempted';
    seq.numPreemptions++;
    this.counters.preemptions++;
    this.waiting.unshift(seq);
  }

  /**
   * Longest cached prefix in whole blocks, at most (tokens − 1) tokens so the last token is recomputed. Returns its
   * length in blocks; the blocks are `hitScratch[0, length)`.
   */
  private findCachedPrefix(seq: Sequence): number {
    const B = this.config.blockSize;
    const maxBlocks = Math.floor((seq.numTokens - 1) / B);
    const hits = this.hitScratch;
    let j = 0;
    for (; j < maxBlocks; j++) {
      this.ensureHashes(seq, j + 1);
      const b = this.pool.lookupAfter(j === 0 ? -1 : hits[j - 1]!, seq.hashes[2 * j]!, seq.hashes[2 * j + 1]!);
      if (b < 0) break;
      hits[j] = b;
    }
    return j;
  }

  /**
   * Gives `seq` the blocks for `n` more tokens after its computed ones (and after `hits[0, hitCount)`, its
   * prefix-cache hit, for a request being admitted), or returns false without changing anything when too few blocks
   * are free.
   * Full blocks covered by this step enter the prefix cache now (vLLM caches at allocation).
   */
  private allocateSlots(seq: Sequence, n: number, hits: readonly number[] | null, hitCount = 0): boolean {
    const B = this.config.blockSize;
    const computed = hits ? hitCount * B : seq.numComputed;
    const required = Math.ceil((computed + n) / B);
    const needNew = required - seq.numBlocks - hitCount;
    let evictableHits = 0;
    if (hits) for (let k = 0; k < hitCount; k++) if (this.pool.refs(hits[k]!) === 0) evictableHits++;
    if (needNew > this.pool.numFreeBlocks - evictableHits) return false;
    const ids = seq.blockIds;
    if (hits) {
      for (let k = 0; k < hitCount; k++) {
        this.pool.touch(hits[k]!);
        ids[seq.numBlocks++] = hits[k]!;
      }
      seq.numCachedBlocks = hitCount;
    }
    for (let k = 0; k < needNew; k++) ids[seq.numBlocks++] = this.pool.allocate();
    seq.slotTokens = seq.numBlocks * B;
    if (this.config.enablePrefixCaching) this.cacheFullBlocks(seq, Math.min(computed + n, seq.numTokens));
    return true;
  }

  private cacheFullBlocks(seq: Sequence, numTokens: number): void {
    const B = this.config.blockSize;
    const full = Math.floor(numTokens / B);
    const from = seq.numCachedBlocks;
    if (full <= from) return;
    // Blocks [from, hashedTo) are hashed and cached now; [hashedTo, full) are cached with deferred hashes.
    let hashedTo = full;
    const deferring = this.deferOutputHashes && !seq.streams && seq.numPreemptions === 0;
    const firstOutput = Math.floor(seq.numPromptTokens / B);
    if (deferring) {
      // Blocks holding generated tokens (from the one the prompt ends in): their ids come from this request's own
      // Rng and nobody has seen them, so no other request can look them up; their hashes wait until something
      // could (resolveDeferred).
      if (full > firstOutput) {
        hashedTo = Math.max(from, firstOutput);
        this.pool.countDeferred(full - hashedTo);
        if (seq.deferredFrom < 0) seq.deferredFrom = hashedTo;
      }
    }
    if (hashedTo > from) {
      this.ensureHashes(seq, hashedTo);
      let runStart = -1;
      for (let j = from; j < hashedTo; j++) {
        const ok = this.pool.cacheBlock(seq.blockIds[j]!, seq.hashes[2 * j]!, seq.hashes[2 * j + 1]!);
        if (ok && runStart < 0) runStart = j;
        if (!ok && runStart >= 0) {
          this.recordStored(seq, runStart, j);
          runStart = -1;
        }
      }
      if (runStart >= 0) this.recordStored(seq, runStart, hashedTo);
    }
    seq.numCachedBlocks = full;
    if (deferring && full >= firstOutput && seq.numHashed > 0) {
      // Every prompt block is cached and the rest will be deferred: the hashes are needed again only if the request
      // is preempted or its ids are read, and ensureHashes then starts over (the same values). Dropped now, they die
      // young instead of living as long as the request.
      seq.hashes = [];
      seq.numHashed = 0;
    }
  }

  /** Hashes seq's deferred blocks[from, to) and enters those still cached for it into the prefix-cache table. */
  private resolveDeferred(seq: Sequence, blocks: readonly number[], from: number, to: number): void {
    this.ensureHashes(seq, to);
    const hashes = seq.hashes;
    for (let j = from; j < to; j++) this.pool.resolveDeferred(blocks[j]!, seq.serial, hashes[2 * j]!, hashes[2 * j + 1]!);
  }

  private recordStored(seq: Sequence, from: number, to: number): void {
    if (!this.events.enabled) return;
    const B = this.config.blockSize;
    const blockHashes: bigint[] = [];
    for (let j = from; j < to; j++) blockHashes.push(hashToBigInt(seq.hashes[2 * j]!, seq.hashes[2 * j + 1]!));
    const tokenIds: number[] = [];
    this.materialize(seq, to * B - seq.numPromptTokens);
    for (let t = from * B; t < to * B; t++) tokenIds.push(seq.tokenAt(t));
    this.events.stored({
      type: 'BlockStored',
      blockHashes,
      parentBlockHash: from === 0 ? null : hashToBigInt(seq.hashes[2 * from - 2]!, seq.hashes[2 * from - 1]!),
      tokenIds,
      blockSize: B,
      loraId: seq.adapter?.intId ?? null,
      medium: 'GPU',
      loraName: seq.adapter?.name ?? null,
    });
  }

  /** Computes the hashes of seq's first `upTo` full blocks that are not hashed yet. */
  private ensureHashes(seq: Sequence, upTo: number): void {
    let j = seq.numHashed;
    if (j >= upTo) return;
    const B = this.config.blockSize;
    const hasher = this.hasher;
    const extra = seq.adapter?.hashKey ?? 0;
    if (2 * upTo > seq.hashes.length) {
      // Past the array (an output block, or hashes dropped by cacheFullBlocks): room for every block it can fill.
      const grown = new Array<number>(2 * Math.floor((seq.numPromptTokens + seq.targetOutput) / B)).fill(0);
      for (let k = 0; k < 2 * j; k++) grown[k] = seq.hashes[k]!;
      seq.hashes = grown;
    }
    const hashes = seq.hashes;
    let parentHi = j === 0 ? hasher.rootHi : hashes[2 * j - 2]!;
    let parentLo = j === 0 ? hasher.rootLo : hashes[2 * j - 1]!;
    const promptBlocks = Math.floor(seq.numPromptTokens / B);
    for (; j < upTo; j++) {
      const start = j * B;
      if (j < promptBlocks) {
        hasher.hashBlock(parentHi, parentLo, seq.prompt, start, extra);
      } else {
        this.materialize(seq, start + B - seq.numPromptTokens);
        const scratch = this.scratch;
        for (let k = 0; k < B; k++) scratch[k] = seq.tokenAt(start + k);
        hasher.hashBlock(parentHi, parentLo, scratch, 0, extra);
      }
      // As int32 bit patterns: small integers in a plain array, never boxed doubles.
      parentHi = hashes[2 * j] = hasher.hi | 0;
      parentLo = hashes[2 * j + 1] = hasher.lo | 0;
    }
    seq.numHashed = upTo;
  }
}
