import Type, { type Static } from 'typebox';
import { defineContract } from '../../contract';
import { subjectToken } from '../../subject';
import { BlockHash, Count, EpochMs, Name } from '../common';

/** vLLM's `BlockStored`: full blocks entered the engine's prefix cache. */
export const BlockStored = Type.Object({
  type: Type.Literal('BlockStored'),
  blockHashes: Type.Array(BlockHash),
  parentBlockHash: Type.Union([BlockHash, Type.Null()]),
  /** All token ids of the new blocks, in order (blockHashes.length × blockSize). */
  tokenIds: Type.Array(Type.Integer({ minimum: 0 })),
  blockSize: Type.Integer({ minimum: 1 }),
  loraId: Type.Union([Type.Integer(), Type.Null()]),
  /** Storage tier ("GPU", "CPU", …); null from engines that predate the field. */
  medium: Type.Union([Type.String(), Type.Null()]),
  loraName: Type.Optional(Type.Union([Type.String(), Type.Null()])),
});
export type BlockStored = Static<typeof BlockStored>;

/** vLLM's `BlockRemoved`: blocks evicted from the engine's prefix cache. */
export const BlockRemoved = Type.Object({
  type: Type.Literal('BlockRemoved'),
  blockHashes: Type.Array(BlockHash),
  medium: Type.Union([Type.String(), Type.Null()]),
});
export type BlockRemoved = Static<typeof BlockRemoved>;

/** vLLM's `AllBlocksCleared`: the prefix cache was reset. */
export const AllBlocksCleared = Type.Object({ type: Type.Literal('AllBlocksCleared') });
export type AllBlocksCleared = Static<typeof AllBlocksCleared>;

export const KvCacheEvent = Type.Union([BlockStored, BlockRemoved, AllBlocksCleared]);
export type KvCacheEvent = Static<typeof KvCacheEvent>;

/**
 * One engine step's KV-cache events, bridged from the engine's publisher.
 * `seq` increases by one per batch per (model, pod) publisher; a jump tells a consumer it missed
 * batches and should treat its view of that engine's cache as stale.
 */
export const KvEventBatch = Type.Object({
  v: Type.Literal(1),
  model: Name,
  pod: Name,
  seq: Count,
  /** When the engine produced the batch. */
  ts: EpochMs,
  /** The engine's own batch sequence number, when it has one (vLLM's ZMQ frame seq). */
  engineSeq: Type.Optional(Count),
  events: Type.Array(KvCacheEvent),
});
export type KvEventBatch = Static<typeof KvEventBatch>;

export const KvEvents = defineContract({
  name: 'kv-events',
  version: 1,
  schema: KvEventBatch,
  pattern: 'brix.kv.events.>',
  subject: (p: { model: string; pod: string }) => `brix.kv.events.${subjectToken(p.model)}.${subjectToken(p.pod)}`,
});
