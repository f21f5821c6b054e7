import Type, { type Static } from 'typebox';
import { defineContract } from '../../contract';
import { EpochMs, Name } from '../common';

/**
 * Phases of an engine's life. `restarted` is announced when an engine process was replaced under the
 * same pod (its caches and loaded adapters are gone); consumers then drop per-engine state.
 */
export const EnginePhase = Type.Union([
  Type.Literal('starting'),
  Type.Literal('ready'),
  Type.Literal('not-ready'),
  Type.Literal('draining'),
  Type.Literal('restarted'),
  Type.Literal('gone'),
]);
export type EnginePhase = Static<typeof EnginePhase>;

export const EngineLifecycleEvent = Type.Object({
  v: Type.Literal(1),
  model: Name,
  pod: Name,
  phase: EnginePhase,
  ts: EpochMs,
  url: Type.Optional(Type.String()),
  /** The sidecar's base URL, when one runs beside the engine. */
  sidecarUrl: Type.Optional(Type.String()),
  gpuType: Type.Optional(Type.String()),
  node: Type.Optional(Type.String()),
  reason: Type.Optional(Type.String()),
});
export type EngineLifecycleEvent = Static<typeof EngineLifecycleEvent>;

export const EngineLifecycle = defineContract({
  name: 'engine-lifecycle',
  version: 1,
  schema: EngineLifecycleEvent,
  pattern: 'brix.engine.lifecycle',
  subject: (_: object) => 'brix.engine.lifecycle',
});
