import Type from 'typebox';
import { definePlugin } from '../../../framework/plugin';
import { fmt, scoreLowerIsBetter, tokenLoad } from '../../../load';
import { PrefixIndex } from '../../../state/prefix-index';
import { SessionTable } from '../../../state/session-table';

const Warmth = { cold: 0, session: 1, prefix: 2, saturated: 3 } as const;
type Warmth = (typeof Warmth)[keyof typeof Warmth];

export const stickyUntilSaturatedScorer = definePlugin({
  type: 'sticky-until-saturated',
  kind: 'scorer',
  summary:
    "stays on the session's engine, else the deepest prefix match, until its in-flight tokens pass a limit; then least token load",
  params: Type.Object(
    {
      /** An engine is saturated above this many in-flight tokens (prompt + expected output) per unit of capacity. */
      maxInFlightTokens: Type.Integer({ minimum: 1, default: 32_768 }),
      minMatchBlocks: Type.Integer({ minimum: 1, default: 1 }),
      /** Shares the prefix index with prefix-cache when both use the same bound. */
      maxBlocks: Type.Integer({ minimum: 1, default: 200_000 }),
      /** Shares the session table with session-affinity when both use the same bound. */
      maxSessions: Type.Integer({ minimum: 1, default: 100_000 }),
      capacityAware: Type.Boolean({ default: true }),
    },
    { additionalProperties: false },
  ),
  create: (params, env) => {
    const index = env.shared(`prefix-index/${params.maxBlocks}`, () => new PrefixIndex(params.maxBlocks));
    const sessions = env.shared(`session-table/${params.maxSessions}`, () => new SessionTable(params.maxSessions));
    let warmth = new Uint8Array(0);
    let depths: Int32Array = new Int32Array(0);
    let loads = new Float64Array(0);
    let total = 0;
    let saturatedWarm = -1;
    return {
      kind: 'scorer',
      type: 'sticky-until-saturated',
      name: env.name,
      score(request, candidates) {
        const n = candidates.length;
        loads = new Float64Array(n);
        for (let i = 0; i < n; i++) loads[i] = tokenLoad(candidates[i]!, params.capacityAware);
        const saturated = (i: number) => candidates[i]!.stale || loads[i]! > params.maxInFlightTokens;
        const scores = scoreLowerIsBetter(loads, candidates);
        for (let i = 0; i < n; i++) scores[i] = 0.5 * scores[i]!;
        warmth = new Uint8Array(n);
        total = request.prefixHashes.length;
        saturatedWarm = -1;

        const pinned = request.sessionId ? sessions.get(request.sessionId) : undefined;
        const pinnedIndex = pinned === undefined ? -1 : candidates.findIndex((e) => e.id === pinned);
        if (pinnedIndex >= 0) {
          if (saturated(pinnedIndex)) {
            warmth[pinnedIndex] = Warmth.saturated;
            saturatedWarm = pinnedIndex;
          } else {
            warmth[pinnedIndex] = Warmth.session;
            scores[pinnedIndex] = 1;
            depths = new Int32Array(n);
            return scores;
          }
        }
        depths = index.match(
          request.prefixHashes,
          candidates.map((e) => e.id),
        );
        for (let i = 0; i < n; i++) {
          const depth = depths[i]!;
          if (depth < params.minMatchBlocks) continue;
          if (saturated(i)) {
            warmth[i] = Warmth.saturated;
            if (saturatedWarm < 0 || depth > depths[saturatedWarm]!) saturatedWarm = i;
          } else {
            warmth[i] = Warmth.prefix;
            // Below the session pin's 1 and above every cold engine's ≤ 0.5; deeper matches first.
            scores[i] = 0.5 + (0.45 * depth) / total;
          }
        }
        return scores;
      },
      explain(i) {
        if (warmth[i] === Warmth.session) return 'session engine below token limit';
        if (warmth[i] === Warmth.prefix) return `prefix ${depths[i]}/${total} blocks, below token limit`;
        if (saturatedWarm >= 0)
          return `warm engine over ${params.maxInFlightTokens} in-flight tokens; least token load (${fmt(loads[i]!)})`;
        return `no warm engine; least token load (${fmt(loads[i]!)})`;
      },
    };
  },
});
