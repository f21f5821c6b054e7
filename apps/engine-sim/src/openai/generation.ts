import { type FinishReason, type FinishedRequest, type SimEngine } from '@brix/engine-model';
import { type VllmMetrics } from '../metrics/vllm-metrics';
import { type SyntheticText } from '../text';

export interface GenerationDeps {
  engine: SimEngine;
  text: SyntheticText;
  metrics: VllmMetrics;
}

/** One OpenAI request as engine requests: one per prompt (choice), n = 1 each. */
export interface GenerationRequest {
  /** Response id; engine request ids derive from it. */
  id: string;
  prompts: readonly number[][];
  adapter: string | null;
  /** Unset: the engine's default (max_model_len − prompt length). */
  maxTokens?: number;
  minTokens?: number;
  ignoreEos?: boolean;
  /** When the request reached the server, engine clock ms (TTFT and e2e count from here). */
  arrivalMs: number;
}

export interface GenerationListener {
  /**
   * One token of choice `index`, as vLLM streams it: its text (empty for EOS), and on the choice's last token
   * the finish reason. Called once per generated token, in order.
   */
  onToken?(index: number, text: string, tokenId: number, finishReason: FinishReason | null): void;
  /** Every choice has ended (results by choice index). Called once, also when the request was aborted. */
  onDone(results: FinishedRequest[]): void;
}

/**
 * Runs one OpenAI request on the engine model and reports its tokens as the engine produces them, so a client
 * sees the model's TTFT and inter-token latency. Records vLLM's per-request metrics (TTFT and ITL as tokens come,
 * the request histograms at the end).
 *
 * The engine reports a request's last token and its end in one call stack; a token is therefore passed on in a
 * microtask, by which time it is known whether it ended the choice (vLLM puts finish_reason on the last token's
 * chunk, not on a chunk of its own).
 */
export class Generation {
  private readonly results: Array<FinishedRequest | undefined>;
  private readonly pending: Array<number | null>;
  private readonly lastTokenMs: number[];
  private readonly engineIds: string[];
  private remaining: number;
  private done = false;

  private constructor(
    private readonly deps: GenerationDeps,
    private readonly request: GenerationRequest,
    private readonly listener: GenerationListener,
  ) {
    const k = request.prompts.length;
    this.results = new Array(k).fill(undefined);
    this.pending = new Array(k).fill(null);
    this.lastTokenMs = new Array(k).fill(0);
    this.engineIds = request.prompts.map((_, i) => (k === 1 ? request.id : `${request.id}-${i}`));
    this.remaining = k;
  }

  /**
   * Submits every prompt. A client error (prompt too long, max_tokens too large, unknown adapter) is thrown
   * before anything streams; prompts already submitted are then aborted and no listener call follows.
   */
  static start(deps: GenerationDeps, request: GenerationRequest, listener: GenerationListener): Generation {
    const g = new Generation(deps, request, listener);
    const submitted: string[] = [];
    try {
      request.prompts.forEach((prompt, i) => {
        deps.engine.submit(
          {
            id: g.engineIds[i]!,
            promptTokenIds: prompt,
            ...(request.maxTokens !== undefined ? { maxTokens: request.maxTokens } : {}),
            ...(request.minTokens !== undefined ? { minTokens: request.minTokens } : {}),
            ...(request.ignoreEos !== undefined ? { ignoreEos: request.ignoreEos } : {}),
            adapter: request.adapter,
            arrivalTimeMs: request.arrivalMs,
          },
          {
            onToken: (tokenId, index, timeMs) => g.token(i, tokenId, index, timeMs),
            onFinish: (f) => g.finish(i, f),
          },
        );
        submitted.push(g.engineIds[i]!);
      });
    } catch (err) {
      g.done = true;
      for (const id of submitted) deps.engine.abort(id);
      throw err;
    }
    return g;
  }

  /** Aborts every choice still running (the client went away); onDone follows with finish reason "abort". */
  abort(): void {
    if (this.done) return;
    this.engineIds.forEach((id, i) => {
      if (!this.results[i]) this.deps.engine.abort(id);
    });
  }

  get finished(): boolean {
    return this.done;
  }

  private token(i: number, tokenId: number, index: number, timeMs: number): void {
    const m = this.deps.metrics;
    if (index === 0) m.observeFirstToken((timeMs - this.request.arrivalMs) / 1000);
    else m.observeInterToken((timeMs - this.lastTokenMs[i]!) / 1000);
    this.lastTokenMs[i] = timeMs;
    // A token still held from an earlier step of this choice was not its last: pass it on first.
    this.flush(i, null);
    this.pending[i] = tokenId;
    queueMicrotask(() => this.flush(i, null));
  }

  private finish(i: number, f: FinishedRequest): void {
    this.deps.metrics.observeFinished(f);
    if (f.finishReason !== 'abort') this.flush(i, f.finishReason);
    else this.pending[i] = null;
    this.results[i] = f;
    if (--this.remaining === 0 && !this.done) {
      this.done = true;
      this.listener.onDone(this.results as FinishedRequest[]);
    }
  }

  private flush(i: number, finishReason: FinishReason | null): void {
    const tokenId = this.pending[i];
    if (tokenId === null || tokenId === undefined) return;
    this.pending[i] = null;
    if (this.done && finishReason === null) return;
    this.listener.onToken?.(i, this.deps.text.piece(tokenId), tokenId, finishReason);
  }
}
