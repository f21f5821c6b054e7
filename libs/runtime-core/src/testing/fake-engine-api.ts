// Test helper: an in-memory implementation of the EngineClient port's model and adapter calls, with the
// vLLM behaviours the adapter logic depends on (cards with parent/root, 400 on a duplicate load, 404 on
// unloading an unknown adapter), plus switches to make it slow or failing. Unit tests only: integration
// tests use engine-sim.
import { type EngineClient, type EngineModelCard, EngineRequestError } from '../engine/engine-client';
import { vllmText, type EngineState } from './fixture-engine';

export interface FakeEngineApi extends EngineClient {
  readonly calls: Array<{ op: 'list' | 'load' | 'unload'; body?: unknown }>;
  /** Adapters by name → lora_path. */
  readonly adapters: Map<string, string>;
  /** The next load or unload waits for this promise (set it to hold an operation in flight). */
  gate: Promise<void> | undefined;
  /** Makes the next call of `op` fail with this engine answer. */
  failNext(op: 'list' | 'load' | 'unload', status: number | 'timeout' | 'unreachable', message?: string, type?: string): void;
  /** Load answers 200 but the adapter never appears (a broken engine). */
  loseLoads: boolean;
  /** Metrics for fetchMetrics (vLLM 0.11 text). */
  readonly state: EngineState;
}

export function createFakeEngineApi(model: string): FakeEngineApi {
  const adapters = new Map<string, string>();
  const failures = new Map<string, { status: number | 'timeout' | 'unreachable'; message: string; type?: string }>();
  const calls: FakeEngineApi['calls'] = [];
  const state: EngineState = {
    running: 0,
    waiting: 0,
    kvUsage: 0,
    promptTokens: 0,
    generationTokens: 0,
    prefixQueries: 0,
    prefixHits: 0,
    ttft: { sum: 0, count: 0 },
    itl: { sum: 0, count: 0 },
    adapters: { running: [], waiting: [] },
    healthStatus: 200,
    metricsStatus: 200,
  };
  const fail = (op: string) => {
    const f = failures.get(op);
    if (!f) return;
    failures.delete(op);
    if (f.status === 'timeout') throw new EngineRequestError(op, 'the engine did not answer in time', undefined, true);
    if (f.status === 'unreachable') throw new EngineRequestError(op, 'engine at fake is unreachable: ECONNREFUSED', undefined);
    throw new EngineRequestError(op, f.message, f.status, false, f.type ? { engineType: f.type } : {});
  };
  /** Waits for the gate like a slow engine, giving up as the real client does when the signal aborts. */
  const wait = (op: string, signal: AbortSignal) =>
    new Promise<void>((resolve, reject) => {
      const onAbort = () => reject(new EngineRequestError(op, 'the engine did not answer in time', undefined, true));
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      void Promise.resolve(api.gate).then(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      });
    });
  const api: FakeEngineApi = {
    calls,
    adapters,
    gate: undefined,
    loseLoads: false,
    state,
    failNext(op, status, message = 'engine failure', type) {
      failures.set(op, { status, message, ...(type ? { type } : {}) });
    },
    async fetchMetrics() {
      return vllmText(model, state);
    },
    async health() {
      return { ok: true };
    },
    async listModels() {
      calls.push({ op: 'list' });
      fail('list');
      const base: EngineModelCard = { id: model, parent: null, root: `/models/${model}` };
      return [base, ...[...adapters].map(([id, root]) => ({ id, parent: model, root }))];
    },
    async loadLoraAdapter(body, signal) {
      calls.push({ op: 'load', body });
      await wait('load', signal);
      fail('load');
      if (adapters.has(body.lora_name))
        throw new EngineRequestError('load', `The lora adapter '${body.lora_name}' has already been loaded.`, 400, false, {
          engineType: 'BadRequestError',
        });
      if (!api.loseLoads) adapters.set(body.lora_name, body.lora_path);
    },
    async unloadLoraAdapter(body, signal) {
      calls.push({ op: 'unload', body });
      await wait('unload', signal);
      fail('unload');
      if (!adapters.delete(body.lora_name))
        throw new EngineRequestError('unload', `The lora adapter '${body.lora_name}' cannot be found.`, 404, false, {
          engineType: 'NotFoundError',
        });
    },
    async close() {},
  };
  return api;
}
