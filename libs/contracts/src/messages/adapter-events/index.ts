import Type, { type Static } from 'typebox';
import { defineContract } from '../../contract';
import { subjectToken } from '../../subject';
import { EpochMs, Name } from '../common';

export const AdapterEventKind = Type.Union([Type.Literal('loaded'), Type.Literal('unloaded'), Type.Literal('load-failed')]);
export type AdapterEventKind = Static<typeof AdapterEventKind>;

/** A LoRA adapter appeared on, left, or failed to load on one engine. */
export const AdapterEvent = Type.Object({
  v: Type.Literal(1),
  /** The base model the adapter applies to. */
  model: Name,
  adapter: Name,
  pod: Name,
  kind: AdapterEventKind,
  ts: EpochMs,
  /** Where the adapter came from (artifact URL), when known. */
  source: Type.Optional(Type.String()),
  /** Human-readable cause for `load-failed`. */
  reason: Type.Optional(Type.String()),
});
export type AdapterEvent = Static<typeof AdapterEvent>;

export const AdapterEvents = defineContract({
  name: 'adapter-events',
  version: 1,
  schema: AdapterEvent,
  pattern: 'brix.adapter.events.*',
  subject: (p: { model: string }) => `brix.adapter.events.${subjectToken(p.model)}`,
});
