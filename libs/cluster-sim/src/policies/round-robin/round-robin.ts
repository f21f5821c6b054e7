import { type RoutingPolicy } from '../../policy';

/**
 * Round-robin over the engines it is offered, ignoring load: the textbook baseline that load-aware policies
 * must beat. It cycles through engine ids in the order it first saw them (stable when engines come and go),
 * skipping ids that are not candidates now, so a removed or not-ready engine does not make it skip a turn.
 * Not a gateway strategy: it lives here as the simulation's reference point.
 */
export function roundRobinPolicy(): RoutingPolicy {
  const order: string[] = [];
  const known = new Set<string>();
  let next = 0;
  return {
    name: 'round-robin',
    route(_request, engines) {
      for (const e of engines) {
        if (!known.has(e.id)) {
          known.add(e.id);
          order.push(e.id);
        }
      }
      const offered = new Set<string>();
      for (const e of engines) offered.add(e.id);
      for (let k = 0; k < order.length; k++) {
        const id = order[(next + k) % order.length]!;
        if (offered.has(id)) {
          next = (next + k + 1) % order.length;
          return id;
        }
      }
      // Only reached with no engines at all; the simulation never routes without candidates.
      throw new RangeError('round-robin: no engines to choose from');
    },
    engineRemoved(engineId) {
      const i = order.indexOf(engineId);
      if (i < 0) return;
      order.splice(i, 1);
      known.delete(engineId);
      if (i < next) next--;
      if (next >= order.length) next = 0;
    },
  };
}
