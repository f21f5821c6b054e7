import { type KvEvent } from '@brix/engine-model';
import { Encoder } from '@msgpack/msgpack';

/**
 * vLLM's KV-event wire format, 0.10.2–0.13 (`vllm/distributed/kv_events.py`, msgspec with array_like):
 * - a batch is `[ts, [event…], data_parallel_rank]` with `ts` a float64 of Unix seconds;
 * - `BlockStored` is `["BlockStored", block_hashes, parent_block_hash, token_ids, block_size, lora_id, medium]`;
 * - `BlockRemoved` is `["BlockRemoved", block_hashes, medium]`; `AllBlocksCleared` is `["AllBlocksCleared"]`.
 * Block hashes are unsigned 64-bit integers (msgpack uint64); `lora_name`, which vLLM added after 0.13, is left out.
 */
export type WireKvEvent =
  | ['BlockStored', bigint[], bigint | null, number[], number, number | null, string | null]
  | ['BlockRemoved', bigint[], string | null]
  | ['AllBlocksCleared'];

export function toWireEvent(e: KvEvent): WireKvEvent {
  switch (e.type) {
    case 'BlockStored':
      return ['BlockStored', e.blockHashes, e.parentBlockHash, e.tokenIds, e.blockSize, e.loraId, e.medium];
    case 'BlockRemoved':
      return ['BlockRemoved', e.blockHashes, e.medium];
    case 'AllBlocksCleared':
      return ['AllBlocksCleared'];
  }
}

/** Encodes EventBatch payloads (one encoder per publisher: it reuses its buffer between calls). */
export class EventBatchEncoder {
  private readonly encoder = new Encoder({ useBigInt64: true });

  /**
   * One EventBatch payload. `ts` is written as float64 even when it happens to be a whole number (msgspec
   * decodes `ts: float` strictly; a generic encoder would write an integer).
   */
  encode(tsSeconds: number, events: readonly KvEvent[], dataParallelRank = 0): Uint8Array {
    const body = this.encoder.encodeSharedRef(events.map(toWireEvent));
    const rank = dataParallelRank;
    if (!Number.isInteger(rank) || rank < 0 || rank > 127) throw new RangeError(`data_parallel_rank ${rank} is not 0..127`);
    const out = new Uint8Array(1 + 9 + body.length + 1);
    out[0] = 0x93; // fixarray of 3
    out[1] = 0xcb; // float64, big-endian
    new DataView(out.buffer).setFloat64(2, tsSeconds, false);
    out.set(body, 10);
    out[10 + body.length] = rank; // positive fixint
    return out;
  }
}

/** The 8-byte big-endian sequence number of a frame. */
export function seqFrame(seq: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(BigInt.asIntN(64, seq));
  return b;
}

/** The replay end marker: -1 as a signed 8-byte big-endian integer. */
export const REPLAY_END_SEQ = seqFrame(-1n);
