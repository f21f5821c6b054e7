import Type from 'typebox';
import { definePlugin } from '../../../framework/plugin';
import { requestLoad } from '../../../load';
import { type EngineView } from '../../../types';

export const loraAffinityFilter = definePlugin({
  type: 'lora-affinity',
  kind: 'filter',
  summary: "keeps engines with the request's adapter loaded, else engines with a free adapter slot, else all",
  params: Type.Object(
    {
      /**
       * When set, an engine with the adapter loaded but more than this many requests per unit of capacity
       * does not count as preferred (loading the adapter elsewhere beats queueing). Unset: no limit.
       */
      maxRequestLoad: Type.Optional(Type.Number({ minimum: 0 })),
      capacityAware: Type.Boolean({ default: true }),
    },
    { additionalProperties: false },
  ),
  create: (params, env) => {
    const usable = (e: EngineView) =>
      !e.stale && (params.maxRequestLoad === undefined || requestLoad(e, params.capacityAware) <= params.maxRequestLoad);
    return {
      kind: 'filter',
      type: 'lora-affinity',
      name: env.name,
      filter(request, candidates) {
        const adapter = request.adapter;
        if (adapter === undefined) return candidates;
        const loaded = candidates.filter((e) => e.loadedAdapters.has(adapter) && usable(e));
        if (loaded.length > 0) return loaded;
        // Stale engines count as saturated: never preferred, but still in the last tier.
        const freeSlot = candidates.filter((e) => !e.stale && e.maxLoras !== undefined && e.loadedAdapters.size < e.maxLoras);
        return freeSlot.length > 0 ? freeSlot : candidates;
      },
    };
  },
});
