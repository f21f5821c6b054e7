import { type FeedbackHooks } from '../framework/plugin';
import { type EngineView, type RoutingRequest } from '../types';

/**
 * Session id → the engine its latest request went to. Bounded: beyond `maxSessions` the least recently
 * routed session is forgotten. Learns from every routed request that carries a session id.
 */
export class SessionTable implements FeedbackHooks {
  // A Map iterates in insertion order; re-inserting on every pin keeps the oldest session first.
  private readonly pins = new Map<string, string>();

  constructor(readonly maxSessions: number) {
    if (!(maxSessions >= 1)) throw new RangeError('maxSessions must be at least 1');
  }

  get size(): number {
    return this.pins.size;
  }

  get(sessionId: string): string | undefined {
    return this.pins.get(sessionId);
  }

  pin(sessionId: string, engineId: string): void {
    this.pins.delete(sessionId);
    this.pins.set(sessionId, engineId);
    if (this.pins.size > this.maxSessions) this.pins.delete(this.pins.keys().next().value!);
  }

  forgetEngine(engineId: string): void {
    for (const [session, engine] of this.pins) if (engine === engineId) this.pins.delete(session);
  }

  onRouted(request: RoutingRequest, engine: EngineView): void {
    if (request.sessionId) this.pin(request.sessionId, engine.id);
  }

  onEngineRemoved(engineId: string): void {
    this.forgetEngine(engineId);
  }
}
