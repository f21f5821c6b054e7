import Type from 'typebox';
import { definePlugin } from '../../../framework/plugin';
import { fmt, requestLoad, scoreLowerIsBetter } from '../../../load';

interface UserState {
  /** Virtual token counter: weighted tokens of service received. */
  counter: number;
  /** Routed requests not yet completed. */
  active: number;
}

/**
 * Virtual Token Counters (Sheng et al., OSDI'24) as seen from a router: each user's counter grows by
 * inputWeight × prompt tokens when a request is routed and outputWeight × generated tokens when it
 * completes. A user who returns after being idle is lifted to the smallest counter among active users,
 * so idle time is not banked as credit. Bounded: beyond `maxUsers` the least recently seen user is dropped.
 */
export class VirtualTokenCounters {
  private readonly users = new Map<string, UserState>();
  private readonly activeUsers = new Set<string>();

  constructor(
    private readonly maxUsers: number,
    private readonly inputWeight: number,
    private readonly outputWeight: number,
  ) {}

  counter(user: string): number | undefined {
    return this.users.get(user)?.counter;
  }

  /**
   * Where the user stands among active users, in [0, 1]: 0 = least served (or the only one), 1 = most
   * served. An inactive user is placed where it would land after the lift.
   */
  share(user: string): number {
    const own = this.users.get(user);
    let min = Infinity;
    let max = -Infinity;
    for (const other of this.activeUsers) {
      if (other === user) continue;
      const c = this.users.get(other)!.counter;
      if (c < min) min = c;
      if (c > max) max = c;
    }
    if (min === Infinity) return 0;
    let c = own?.counter ?? 0;
    if (!own || own.active === 0) c = Math.max(c, min);
    min = Math.min(min, c);
    max = Math.max(max, c);
    return max > min ? (c - min) / (max - min) : 0;
  }

  routed(user: string, promptTokens: number): void {
    let state = this.users.get(user);
    if (state) this.users.delete(user);
    else state = { counter: 0, active: 0 };
    this.users.set(user, state);
    if (state.active === 0) {
      let min = Infinity;
      for (const other of this.activeUsers) min = Math.min(min, this.users.get(other)!.counter);
      if (min !== Infinity && min > state.counter) state.counter = min;
      this.activeUsers.add(user);
    }
    state.active++;
    state.counter += this.inputWeight * promptTokens;
    if (this.users.size > this.maxUsers) {
      const oldest = this.users.keys().next().value!;
      this.users.delete(oldest);
      this.activeUsers.delete(oldest);
    }
  }

  /** Charges generated tokens and corrects the prompt charge from the estimate to the engine's count. */
  completed(user: string, estimatedPromptTokens: number, promptTokens: number, completionTokens: number): void {
    const state = this.users.get(user);
    if (!state) return;
    const promptCorrection = promptTokens > 0 ? promptTokens - estimatedPromptTokens : 0;
    state.counter = Math.max(0, state.counter + this.inputWeight * promptCorrection + this.outputWeight * completionTokens);
    state.active = Math.max(0, state.active - 1);
    if (state.active === 0) this.activeUsers.delete(user);
  }
}

export const vtcBasicScorer = definePlugin({
  type: 'vtc-basic',
  kind: 'scorer',
  summary: "per-user token fairness (VTC) with load: a user's fair-share rank picks a matching load rank",
  params: Type.Object(
    {
      inputWeight: Type.Number({ minimum: 0, default: 1 }),
      /** Output tokens cost more than prompt tokens (VTC and AIBrix both use 2). */
      outputWeight: Type.Number({ minimum: 0, default: 2 }),
      /** Weight of the fairness term; above utilizationWeight, users are placed by their fair-share rank. */
      fairnessWeight: Type.Number({ minimum: 0, default: 1 }),
      utilizationWeight: Type.Number({ minimum: 0, default: 0.5 }),
      maxUsers: Type.Integer({ minimum: 1, default: 100_000 }),
      capacityAware: Type.Boolean({ default: true }),
    },
    { additionalProperties: false },
  ),
  create: (params, env) => {
    const counters = new VirtualTokenCounters(params.maxUsers, params.inputWeight, params.outputWeight);
    const totalWeight = params.fairnessWeight + params.utilizationWeight;
    let lastShare: number | undefined;
    let lastLoads = new Float64Array(0);
    return {
      kind: 'scorer',
      type: 'vtc-basic',
      name: env.name,
      score(request, candidates) {
        const n = candidates.length;
        lastLoads = new Float64Array(n);
        for (let i = 0; i < n; i++) lastLoads[i] = requestLoad(candidates[i]!, params.capacityAware);
        // Utilisation: 1 for the least loaded fresh engine, 0 for the most loaded and for stale ones.
        const scores = scoreLowerIsBetter(lastLoads, candidates);
        lastShare = request.user === undefined ? undefined : counters.share(request.user);
        if (lastShare === undefined || totalWeight === 0) return scores;
        for (let i = 0; i < n; i++) {
          const utilization = scores[i]!;
          // Load rank 0 = least loaded … 1 = most loaded; the fairness term peaks where it equals the user's share.
          const fairness = 1 - Math.abs(1 - utilization - lastShare);
          scores[i] = (params.fairnessWeight * fairness + params.utilizationWeight * utilization) / totalWeight;
        }
        return scores;
      },
      explain: (i) =>
        lastShare === undefined
          ? `no user; least loaded (${fmt(lastLoads[i]!)} requests)`
          : `user share ${fmt(lastShare)}; engine load ${fmt(lastLoads[i]!)} requests`,
      onRouted(request) {
        if (request.user !== undefined) counters.routed(request.user, request.promptTokens);
      },
      onCompleted(request, _engineId, outcome) {
        if (request.user !== undefined) {
          counters.completed(request.user, request.promptTokens, outcome.promptTokens, outcome.completionTokens);
        }
      },
    };
  },
});
