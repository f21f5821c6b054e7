import Type, { type Static } from 'typebox';
import { defineContract } from '../../contract';
import { subjectToken } from '../../subject';
import { Count, EpochMs, Fraction, Name, NonNegative } from '../common';

/**
 * A point-in-time load snapshot of one engine, in Brix's engine-neutral vocabulary.
 * Published by the ai-runtime sidecar (or the gateway's own scraper) on `brix.engine.load.<model>.<pod>`.
 */
export const EngineLoadSnapshot = Type.Object({
  v: Type.Literal(1),
  model: Name,
  pod: Name,
  /** Base URL of the engine's OpenAI-compatible server. */
  url: Type.Optional(Type.String()),
  /** Engine family whose metrics were translated ("vllm", "sglang", …). */
  engine: Type.Optional(Type.String()),
  ts: EpochMs,
  running: Count,
  waiting: Count,
  /** Fraction of KV-cache blocks in use, 0..1. */
  kvUsage: Fraction,
  /** Prefix-cache hits / queries over the last interval, in tokens; null before any query. */
  prefixHitRate: Type.Union([Fraction, Type.Null()]),
  promptTokensPerSec: NonNegative,
  generationTokensPerSec: NonNegative,
  /** Mean time to first token and inter-token latency over the last interval, in ms; null without samples. */
  ttftMs: Type.Optional(Type.Union([NonNegative, Type.Null()])),
  itlMs: Type.Optional(Type.Union([NonNegative, Type.Null()])),
  preemptionsPerSec: Type.Optional(NonNegative),
  loadedAdapters: Type.Array(Type.String()),
  /** The engine's configured batch limit, so consumers can normalise `running` to a load fraction. */
  maxNumSeqs: Type.Optional(Count),
  gpuType: Type.Optional(Type.String()),
});
export type EngineLoadSnapshot = Static<typeof EngineLoadSnapshot>;

export const EngineLoad = defineContract({
  name: 'engine-load',
  version: 1,
  schema: EngineLoadSnapshot,
  pattern: 'brix.engine.load.>',
  subject: (p: { model: string; pod: string }) => `brix.engine.load.${subjectToken(p.model)}.${subjectToken(p.pod)}`,
});
