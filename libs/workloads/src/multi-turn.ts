import { type Rng } from '@brix/clock';
import {
  fillTokens,
  type LengthDistribution,
  meanLength,
  type RequestRecord,
  sampleLength,
  type SimRequest,
  tokenSeed,
  type Workload,
  WorkloadError,
} from '@brix/cluster-sim';
import { nextArrival, resolveBase, streams, type WorkloadBase, withModel } from './common';

/**
 * Multi-turn chat: sessions arrive by the arrival process; each has a number of turns, and turn n + 1 is sent a
 * think time after turn n's answer arrived, with a prompt that extends turn n's prompt by the answer's tokens and a
 * new user message. So every turn's prompt starts with the whole previous prompt — the cache an engine kept from
 * turn n is a prefix of turn n + 1 — and requests carry `sessionId` (the x-session-id header) for session affinity.
 *
 * A closed loop: turns after the first are submitted from `onFinished`, so their arrival depends on how fast the
 * cluster answered. A session ends after its turns, when the context would exceed `maxContextTokens`, or when a
 * turn failed. The answer's tokens are drawn by the workload (the simulated engine produces no text the client
 * could send back), so an engine's cached blocks of its own generated tokens do not match the next prompt: the
 * cache-hit ceiling of turn n + 1 is turn n's prompt, not its prompt plus answer.
 */
export interface MultiTurnOptions extends WorkloadBase {
  /** Turns per session, uniform in [min, max]. Default 2–8. */
  readonly turns?: { readonly min: number; readonly max: number };
  /** A system prompt all sessions share (0 = none). Default 0. */
  readonly systemPromptTokens?: number;
  /** Each user message. Default log-normal median 60, σ 0.7 (mean ≈ 77), max 800. */
  readonly userTokens?: LengthDistribution;
  /** Each answer. Default log-normal median 150, σ 0.7 (mean ≈ 192), max 1,024. */
  readonly outputTokens?: LengthDistribution;
  /** Mean of the exponential think time between an answer and the next turn, ms. Default 2,000. */
  readonly thinkTimeMs?: number;
  /** A session stops before a prompt + answer could exceed this. Default 7,000 (under Llama-3's 8,192). */
  readonly maxContextTokens?: number;
}

export const multiTurnDefaults = {
  turns: { min: 2, max: 8 },
  systemPromptTokens: 0,
  userTokens: { kind: 'log-normal', median: 60, sigma: 0.7, min: 1, max: 800 },
  outputTokens: { kind: 'log-normal', median: 150, sigma: 0.7, min: 1, max: 1024 },
  thinkTimeMs: 2000,
  maxContextTokens: 7000,
} as const satisfies Required<Omit<MultiTurnOptions, keyof WorkloadBase>>;

interface Session {
  readonly id: string;
  readonly rng: Rng;
  prompt: Int32Array;
  turn: number;
  readonly turns: number;
  /** Output length the workload chose for the turn in flight. */
  outputTokens: number;
}

/** The fields of a finished request a closed-loop workload reads (a live client can fill these too). */
export type FinishedTurn = Pick<RequestRecord, 'id' | 'status' | 'finishedMs' | 'outputTokens'>;

export interface MultiTurnWorkload extends Workload {
  onFinished(record: FinishedTurn, submit: (request: SimRequest) => void): void;
  /** Sessions started and still going (for tests and progress). */
  readonly openSessions: () => number;
}

export function multiTurnWorkload(input: MultiTurnOptions): MultiTurnWorkload {
  const o = { ...multiTurnDefaults, ...input };
  const base = resolveBase('multi-turn', o, { userTokens: o.userTokens, outputTokens: o.outputTokens });
  const fail = (m: string): never => {
    throw new WorkloadError(`multi-turn workload: ${m}`);
  };
  if (!(Number.isInteger(o.turns.min) && o.turns.min >= 1 && o.turns.max >= o.turns.min))
    fail(`turns must be integers with 1 ≤ min ≤ max (got ${o.turns.min}–${o.turns.max})`);
  if (!(o.thinkTimeMs >= 0)) fail(`thinkTimeMs must be ≥ 0 (got ${o.thinkTimeMs})`);
  if (!(Number.isInteger(o.systemPromptTokens) && o.systemPromptTokens >= 0))
    fail(`systemPromptTokens must be an integer ≥ 0 (got ${o.systemPromptTokens})`);
  if (!(o.maxContextTokens > o.systemPromptTokens)) fail(`maxContextTokens must exceed systemPromptTokens`);

  // Keyed by the id of the turn in flight.
  const inFlight = new Map<string, Session>();
  let system = new Int32Array(0);

  const request = (s: Session, arrivalMs: number): SimRequest => {
    s.outputTokens = Math.max(1, sampleLength(o.outputTokens, s.rng));
    const id = `${s.id}-t${s.turn}`;
    inFlight.set(id, s);
    return withModel(base, {
      id,
      arrivalMs,
      promptTokenIds: s.prompt,
      outputTokens: s.outputTokens,
      sessionId: s.id,
      user: s.id,
    });
  };

  return {
    name: `multi-turn (${o.turns.min}–${o.turns.max} turns)`,
    openSessions: () => inFlight.size,
    *requests(): Generator<SimRequest> {
      inFlight.clear();
      const { times, content } = streams(base);
      system = new Int32Array(o.systemPromptTokens);
      fillTokens(system, 0, system.length, tokenSeed(content), base.vocabSize);
      for (let n = 0; ; n++) {
        const t = nextArrival(base, times, n);
        if (t === null) return;
        // Each session has its own stream, so its turns do not depend on the order other sessions finish in.
        const rng = content.fork();
        const turns = rng.int(o.turns.min, o.turns.max);
        const user = Math.max(1, sampleLength(o.userTokens, rng));
        const prompt = new Int32Array(system.length + user);
        prompt.set(system);
        fillTokens(prompt, system.length, prompt.length, tokenSeed(rng), base.vocabSize);
        yield request({ id: `s${n}`, rng, prompt, turn: 0, turns, outputTokens: 0 }, t);
      }
    },
    onFinished(record, submit) {
      const s = inFlight.get(record.id);
      if (!s) return;
      inFlight.delete(record.id);
      s.turn++;
      if (record.status !== 'ok' || s.turn >= s.turns) return;
      const answer = record.outputTokens;
      const user = Math.max(1, sampleLength(o.userTokens, s.rng));
      const length = s.prompt.length + answer + user;
      if (length + meanLength(o.outputTokens) > o.maxContextTokens) return;
      const next = new Int32Array(length);
      next.set(s.prompt);
      // The answer as the client sends it back, then the new user message.
      fillTokens(next, s.prompt.length, s.prompt.length + answer, tokenSeed(s.rng), base.vocabSize);
      fillTokens(next, s.prompt.length + answer, length, tokenSeed(s.rng), base.vocabSize);
      s.prompt = next;
      submit(request(s, record.finishedMs + s.rng.exponential(o.thinkTimeMs)));
    },
  };
}

/** Mean turns per session (before context limits end sessions early): requests per arrival. */
export function multiTurnMeanTurns(input: Partial<MultiTurnOptions> = {}): number {
  const t = input.turns ?? multiTurnDefaults.turns;
  return (t.min + t.max) / 2;
}
