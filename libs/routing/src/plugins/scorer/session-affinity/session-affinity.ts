import Type from 'typebox';
import { definePlugin } from '../../../framework/plugin';
import { requestLoadScores } from '../../../load';
import { SessionTable } from '../../../state/session-table';

export const sessionAffinityScorer = definePlugin({
  type: 'session-affinity',
  kind: 'scorer',
  summary: "1 for the engine the request's session went to last (while it is a candidate), else 0.5 × load score",
  params: Type.Object(
    {
      /** Bound on remembered sessions; the least recently routed is forgotten first. */
      maxSessions: Type.Integer({ minimum: 1, default: 100_000 }),
      capacityAware: Type.Boolean({ default: true }),
    },
    { additionalProperties: false },
  ),
  create: (params, env) => {
    const sessions = env.shared(`session-table/${params.maxSessions}`, () => new SessionTable(params.maxSessions));
    let pinnedIndex = -1;
    let state: 'none' | 'new' | 'moved' = 'none';
    return {
      kind: 'scorer',
      type: 'session-affinity',
      name: env.name,
      score(request, candidates) {
        const scores = requestLoadScores(candidates, params.capacityAware);
        for (let i = 0; i < scores.length; i++) scores[i] = 0.5 * scores[i]!;
        const pinned = request.sessionId ? sessions.get(request.sessionId) : undefined;
        pinnedIndex = pinned === undefined ? -1 : candidates.findIndex((e) => e.id === pinned);
        state = !request.sessionId ? 'none' : pinned === undefined ? 'new' : 'moved';
        if (pinnedIndex >= 0) scores[pinnedIndex] = 1;
        return scores;
      },
      explain(i) {
        if (i === pinnedIndex) return 'session pinned here';
        if (state === 'moved') return 'session engine unavailable; re-pinned to least loaded';
        return state === 'new' ? 'new session; least loaded' : 'no session id; least loaded';
      },
    };
  },
});
