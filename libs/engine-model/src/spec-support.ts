// Test support shared by the engine specs; left out of the library build (tsconfig.lib.json).
import { VirtualClock } from '@brix/clock';
import { type EngineConfig } from './config';
import { type EngineRequest, type FinishedRequest, type StepRecord } from './core/types';
import { SimEngine, type SimEngineDeps } from './engine';
import { type KvEventBatch } from './kv/events';

/** Distinct token ids `start, start+1, …` (n of them). */
export const toks = (n: number, start = 1000) => Array.from({ length: n }, (_, i) => start + i);

export interface Harness {
  clock: VirtualClock;
  engine: SimEngine;
  steps: StepRecord[];
  kv: KvEventBatch[];
  finished: Map<string, FinishedRequest>;
  tokenTimes: Map<string, number[]>;
  submit(id: string, prompt: number[], opts?: Partial<EngineRequest>): void;
  run(): void;
}

/** An H100 / Llama-3-8B engine on a virtual clock that records steps, KV events, tokens and completions. */
export function harness(config: Partial<EngineConfig> = {}, deps: Partial<SimEngineDeps> = {}): Harness {
  const clock = new VirtualClock(0);
  const steps: StepRecord[] = [];
  const kv: KvEventBatch[] = [];
  const finished = new Map<string, FinishedRequest>();
  const tokenTimes = new Map<string, number[]>();
  const engine = new SimEngine(
    { model: 'llama-3-8b', gpu: 'H100', maxModelLen: 2048, ...config },
    { clock, onStep: (s) => steps.push(s), onKvEvents: (b) => kv.push(b), ...deps },
  );
  return {
    clock,
    engine,
    steps,
    kv,
    finished,
    tokenTimes,
    submit(id, prompt, opts = {}) {
      tokenTimes.set(id, []);
      engine.submit(
        { id, promptTokenIds: prompt, maxTokens: 8, ignoreEos: true, ...opts },
        { onToken: (_t, _i, at) => tokenTimes.get(id)!.push(at), onFinish: (f) => finished.set(id, f) },
      );
    },
    run() {
      clock.runAll();
    },
  };
}
