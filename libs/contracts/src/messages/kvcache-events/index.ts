import Type, { type Static } from 'typebox';
import { defineContract } from '../../contract';
import { subjectToken } from '../../subject';
import { BlockHash, Count, EpochMs, Name } from '../common';

/** Blocks admitted to, or evicted from, the distributed KV pool on one kvcache node. */
export const KvPoolChange = Type.Object({
  type: Type.Union([Type.Literal('admitted'), Type.Literal('evicted')]),
  /** The model whose KV layout the blocks belong to (blocks of different models never mix). */
  model: Name,
  blockHashes: Type.Array(BlockHash, { minItems: 1 }),
  /** Tier the blocks are in after the change ("dram", "disk"). */
  tier: Type.Optional(Type.String()),
});
export type KvPoolChange = Static<typeof KvPoolChange>;

export const KvPoolEventBatch = Type.Object({
  v: Type.Literal(1),
  node: Name,
  seq: Count,
  ts: EpochMs,
  changes: Type.Array(KvPoolChange),
  /** Bytes in use and capacity on the node after these changes. */
  usedBytes: Type.Optional(Count),
  capacityBytes: Type.Optional(Count),
});
export type KvPoolEventBatch = Static<typeof KvPoolEventBatch>;

export const KvPoolEvents = defineContract({
  name: 'kvcache-events',
  version: 1,
  schema: KvPoolEventBatch,
  pattern: 'brix.kvcache.events.*',
  subject: (p: { node: string }) => `brix.kvcache.events.${subjectToken(p.node)}`,
});
