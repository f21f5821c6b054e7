// Builders for routing specs: engines, requests, contexts and chained block hashes.
import { Rng } from '@brix/clock';
import { createRouter } from '../create-router';
import { type PluginEnv } from '../framework/plugin';
import { type RoutingDecision, type Router } from '../framework/router';
import { type BlockHash, type EngineView, type RoutingContext, type RoutingRequest } from '../types';

/** An idle, fresh, ready capacity-1 engine of model `m`, with the given fields replaced. */
export function engine(id: string, fields: Partial<EngineView> = {}): EngineView {
  return {
    id,
    model: 'm',
    capacity: 1,
    running: 0,
    waiting: 0,
    inFlight: 0,
    inFlightTokens: 0,
    kvUsage: 0,
    promptTokensPerSec: 0,
    generationTokensPerSec: 0,
    ttftMs: null,
    itlMs: null,
    loadedAdapters: new Set(),
    stale: false,
    ...fields,
  };
}

/** A request for model `m` with 100 prompt and 100 output tokens and no prefix, with the given fields replaced. */
export function request(fields: Partial<RoutingRequest> = {}): RoutingRequest {
  return { id: 'r', model: 'm', promptTokens: 100, maxTokens: 100, prefixHashes: [], ...fields };
}

export function context(seed = 1, now = 0): RoutingContext {
  return { now, rng: new Rng(seed) };
}

const MASK = (1n << 64n) - 1n;
const LOW_53 = (1n << 53n) - 1n;

/**
 * Chained hashes of blocks named by `labels` (64-bit FNV-1a over the parent hash and the label, cut to 53
 * bits as block hashes are), so two prompts share hashes exactly as long as they share leading labels.
 */
export function chain(labels: readonly string[]): BlockHash[] {
  const out: BlockHash[] = [];
  let parent = 0xcbf29ce484222325n;
  for (const label of labels) {
    let h = parent;
    for (let i = 0; i < label.length; i++) h = ((h ^ BigInt(label.charCodeAt(i))) * 0x100000001b3n) & MASK;
    h = ((h ^ 0xffn) * 0x100000001b3n) & MASK;
    out.push(Number(h & LOW_53));
    parent = h;
  }
  return out;
}

/** `n` block labels of document `doc`, optionally followed by labels unique to `suffix`. */
export function blocks(doc: string, n: number, suffix?: string, suffixBlocks = 0): string[] {
  const labels = Array.from({ length: n }, (_, i) => `${doc}#${i}`);
  for (let i = 0; i < suffixBlocks; i++) labels.push(`${doc}/${suffix}#${i}`);
  return labels;
}

/** A PluginEnv for building one plugin outside a Router; shared state lives in the given map. */
export function pluginEnv(name: string, shared = new Map<string, object>()): PluginEnv {
  return {
    name,
    shared<T extends object>(key: string, make: () => T): T {
      let state = shared.get(key) as T | undefined;
      if (state === undefined) {
        state = make();
        shared.set(key, state);
      }
      return state;
    },
  };
}

/** Routes one request with a built-in Router (a fresh one unless given) and returns the decision. */
export function choose(
  strategy: string,
  engines: readonly EngineView[],
  fields: Partial<RoutingRequest> = {},
  router: Router = createRouter(),
  seed = 1,
): RoutingDecision {
  return router.route(request(fields), engines, context(seed), strategy);
}
