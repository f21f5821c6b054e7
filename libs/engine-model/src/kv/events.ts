import { type KvCacheEvent } from '@brix/contracts';
import { hashToBigInt, hashToHex } from '@brix/block-hash';

/**
 * vLLM's KV-cache events (vllm/distributed/kv_events.py), with its field meanings; hashes are unsigned 64-bit
 * values. engine-sim publishes them over ZMQ + msgpack as vLLM does; {@link toContractKvEvent} gives the Brix
 * bus shape (hex hashes).
 */
export type KvEvent =
  | {
      type: 'BlockStored';
      /** Hashes of the newly cached full blocks, in sequence order. */
      blockHashes: bigint[];
      /** Hash of the block before the first one, or null when the first block starts the sequence. */
      parentBlockHash: bigint | null;
      /** Every token of the new blocks, in order (blockHashes.length × blockSize). */
      tokenIds: number[];
      blockSize: number;
      /** The adapter's integer id (vLLM `lora_int_id`), null for the base model. */
      loraId: number | null;
      medium: 'GPU';
      /** The adapter's name (a field vLLM added after 0.13; publishers for older wire formats drop it). */
      loraName: string | null;
    }
  | { type: 'BlockRemoved'; blockHashes: bigint[]; medium: 'GPU' }
  | { type: 'AllBlocksCleared' };

/** The events of one engine step, published once when the step ends (vLLM's `EventBatch`). */
export interface KvEventBatch {
  /** Engine clock time the batch was produced, ms. */
  timeMs: number;
  events: KvEvent[];
}

/** The Brix bus form of one event (`@brix/contracts` kv-events): hashes as 16-digit lowercase hex. */
export function toContractKvEvent(e: KvEvent): KvCacheEvent {
  switch (e.type) {
    case 'BlockStored':
      return {
        type: 'BlockStored',
        blockHashes: e.blockHashes.map(hashToHex),
        parentBlockHash: e.parentBlockHash === null ? null : hashToHex(e.parentBlockHash),
        tokenIds: e.tokenIds,
        blockSize: e.blockSize,
        loraId: e.loraId,
        medium: e.medium,
        loraName: e.loraName,
      };
    case 'BlockRemoved':
      return { type: 'BlockRemoved', blockHashes: e.blockHashes.map(hashToHex), medium: e.medium };
    case 'AllBlocksCleared':
      return { type: 'AllBlocksCleared' };
  }
}

/**
 * Collects the events of the current step. Disabled recorders do nothing, so engines without a KV-event
 * listener never build `bigint`s.
 */
export class KvEventRecorder {
  private pending: KvEvent[] = [];

  constructor(readonly enabled: boolean) {}

  removed(hi: number, lo: number): void {
    if (!this.enabled) return;
    // vLLM emits one BlockRemoved per evicted block.
    this.pending.push({ type: 'BlockRemoved', blockHashes: [hashToBigInt(hi, lo)], medium: 'GPU' });
  }

  stored(event: Extract<KvEvent, { type: 'BlockStored' }>): void {
    if (this.enabled) this.pending.push(event);
  }

  cleared(): void {
    if (this.enabled) this.pending.push({ type: 'AllBlocksCleared' });
  }

  get size(): number {
    return this.pending.length;
  }

  /** Returns and forgets the events recorded since the last call. */
  take(): KvEvent[] {
    const out = this.pending;
    this.pending = [];
    return out;
  }
}
