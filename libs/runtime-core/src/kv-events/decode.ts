import { type KvCacheEvent } from '@brix/contracts';
import { decode } from '@msgpack/msgpack';

/**
 * Decoding of vLLM's KV-cache event batches (msgpack, `vllm/distributed/kv_events.py`) into the Brix
 * contract's events. Every wire version is read by the same code: the differences are data.
 *
 * - A batch is the array `[ts, [event…], data_parallel_rank?]`, `ts` in seconds since the epoch.
 * - An event is either an array `[tag, field…]` (every version up to the map change) or a map
 *   `{"type": tag, field: value…}` (newer vLLM). Array fields are positional; versions only ever appended
 *   fields, and `omit_defaults` drops trailing defaults, so one ordered field list per tag reads them all:
 *   absent trailing fields take their defaults, fields beyond the list (a newer engine) are ignored.
 * - Block hashes are unsigned 64-bit ints (→ 16 lowercase hex digits; a negative int, from 0.10.0's
 *   signed builtin hash, is read as its two's complement) or raw digest bytes (→ their hex).
 */

/** Positional field names of each event tag, oldest first; new vLLM versions appended to these lists. */
export const EVENT_FIELDS = {
  BlockStored: [
    'block_hashes',
    'parent_block_hash',
    'token_ids',
    'block_size',
    'lora_id',
    'medium', // 0.10.2
    'lora_name', // Dec 2025
    'extra_keys', // Feb 2026
    'group_idx', // Apr 2026
    'kv_cache_spec_kind', // May 2026
    'kv_cache_spec_sliding_window', // May 2026
  ],
  BlockRemoved: ['block_hashes', 'medium', 'group_idx'],
  AllBlocksCleared: [],
} as const satisfies Record<KvCacheEvent['type'], readonly string[]>;

export type KvEventTag = keyof typeof EVENT_FIELDS;

/** A batch decoded into contract events, plus what had to be left out. */
export interface DecodedKvBatch {
  /** When the engine produced the batch, ms since the epoch (undefined when the batch had no usable time). */
  tsMs: number | undefined;
  events: KvCacheEvent[];
  dataParallelRank: number | undefined;
  /** Events skipped: an unknown tag (a newer engine) or fields of the wrong type, by reason. */
  skipped: Array<{ tag: string; reason: string }>;
}

/** The payload is not a KV event batch at all. */
export class KvBatchDecodeError extends Error {
  override readonly name = 'KvBatchDecodeError';
  readonly code = 'BRIX_KV_BATCH_INVALID';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

type Fields = Record<string, unknown>;

const U64 = (1n << 64n) - 1n;

/** One block hash in its bus form. Throws TypeError for a value that is not one. */
export function blockHashToHex(value: unknown): string {
  if (value instanceof Uint8Array) {
    if (value.length === 0 || value.length > 64) throw new TypeError(`a ${value.length}-byte block hash`);
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex');
  }
  let n: bigint;
  if (typeof value === 'bigint') n = value;
  else if (typeof value === 'number' && Number.isSafeInteger(value)) n = BigInt(value);
  else throw new TypeError(`a block hash of type ${typeof value}`);
  if (n < -(1n << 63n) || n > U64) throw new TypeError('a block hash wider than 64 bits');
  return BigInt.asUintN(64, n).toString(16).padStart(16, '0');
}

const hashes = (v: unknown): string[] => {
  if (!Array.isArray(v)) throw new TypeError('block_hashes is not a list');
  return v.map(blockHashToHex);
};

const int = (v: unknown, what: string): number => {
  const n = typeof v === 'bigint' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isSafeInteger(n)) throw new TypeError(`${what} is not an integer`);
  return n;
};

const optionalString = (v: unknown, what: string): string | null => {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') throw new TypeError(`${what} is not a string`);
  return v;
};

/** Builds the contract event of each tag from its named fields. */
const BUILDERS: { [T in KvEventTag]: (f: Fields) => Extract<KvCacheEvent, { type: T }> } = {
  BlockStored: (f) => {
    if (!Array.isArray(f['token_ids'])) throw new TypeError('token_ids is not a list');
    const tokenIds = f['token_ids'].map((t) => {
      const id = int(t, 'a token id');
      if (id < 0) throw new TypeError('a token id is negative');
      return id;
    });
    const blockSize = int(f['block_size'], 'block_size');
    if (blockSize < 1) throw new TypeError('block_size is not positive');
    const parent = f['parent_block_hash'];
    const lora = f['lora_id'];
    return {
      type: 'BlockStored',
      blockHashes: hashes(f['block_hashes']),
      parentBlockHash: parent === undefined || parent === null ? null : blockHashToHex(parent),
      tokenIds,
      blockSize,
      loraId: lora === undefined || lora === null ? null : int(lora, 'lora_id'),
      medium: optionalString(f['medium'], 'medium'),
      ...('lora_name' in f ? { loraName: optionalString(f['lora_name'], 'lora_name') } : {}),
    };
  },
  BlockRemoved: (f) => ({
    type: 'BlockRemoved',
    blockHashes: hashes(f['block_hashes']),
    medium: optionalString(f['medium'], 'medium'),
  }),
  AllBlocksCleared: () => ({ type: 'AllBlocksCleared' }),
};

const isTag = (tag: unknown): tag is KvEventTag => typeof tag === 'string' && Object.hasOwn(EVENT_FIELDS, tag);

/** Names the fields of one event in either form; undefined tag when the event has none. */
function fieldsOf(raw: unknown): { tag: unknown; fields: Fields } {
  if (Array.isArray(raw)) {
    const [tag, ...values] = raw;
    const names: readonly string[] = isTag(tag) ? EVENT_FIELDS[tag] : [];
    const fields: Fields = {};
    names.forEach((name, i) => {
      if (i < values.length) fields[name] = values[i];
    });
    return { tag, fields };
  }
  if (raw instanceof Map) return fieldsOf(Object.fromEntries(raw));
  if (raw && typeof raw === 'object') {
    const { type, ...fields } = raw as Fields;
    return { tag: type, fields };
  }
  return { tag: undefined, fields: {} };
}

/** Converts one decoded event (array or map form); throws TypeError with the reason when it cannot. */
export function toContractEvent(raw: unknown): KvCacheEvent {
  const { tag, fields } = fieldsOf(raw);
  if (!isTag(tag)) throw new TypeError(`unknown event type ${JSON.stringify(String(tag))}`);
  return BUILDERS[tag](fields);
}

/** Decodes one msgpack payload of vLLM's KV-event publisher. Throws KvBatchDecodeError when it is not a batch. */
export function decodeKvEventBatch(payload: Uint8Array): DecodedKvBatch {
  let batch: unknown;
  try {
    // 64-bit hashes would lose precision as JS numbers.
    batch = decode(payload, { useBigInt64: true });
  } catch (err) {
    throw new KvBatchDecodeError(`payload is not msgpack: ${(err as Error).message}`, { cause: err });
  }
  if (!Array.isArray(batch) || batch.length < 2 || !Array.isArray(batch[1]))
    throw new KvBatchDecodeError('payload is not an event batch [ts, [events…], dp_rank?]');
  const [ts, rawEvents, rank] = batch as [unknown, unknown[], unknown];
  const seconds = typeof ts === 'bigint' ? Number(ts) : ts;
  const tsMs = typeof seconds === 'number' && Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
  const events: KvCacheEvent[] = [];
  const skipped: DecodedKvBatch['skipped'] = [];
  for (const raw of rawEvents) {
    try {
      events.push(toContractEvent(raw));
    } catch (err) {
      skipped.push({ tag: String(fieldsOf(raw).tag), reason: (err as Error).message });
    }
  }
  const dp = typeof rank === 'bigint' ? Number(rank) : rank;
  return { tsMs, events, dataParallelRank: typeof dp === 'number' && Number.isInteger(dp) ? dp : undefined, skipped };
}
