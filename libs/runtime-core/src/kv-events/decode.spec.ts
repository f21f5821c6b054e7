import { KvEventBatch } from '@brix/contracts';
import { encode } from '@msgpack/msgpack';
import { Compile } from 'typebox/compile';
import { blockHashToHex, decodeKvEventBatch, KvBatchDecodeError, toContractEvent } from './decode';

const pack = (value: unknown) => encode(value, { useBigInt64: true });
const isBatch = Compile(KvEventBatch);

/** The events of one vLLM step in a given wire form: two stored blocks (16 tokens each) and one eviction. */
const H1 = 0xfedcba9876543210n; // above 2^63: must stay unsigned and exact
const H2 = 0x0000000000000042n; // small: msgpack encodes it as a one-byte int, decoded as a JS number
const P = 0x1234n;
const tokens = Array.from({ length: 32 }, (_, i) => i + 100);

const stored = {
  type: 'BlockStored',
  blockHashes: ['fedcba9876543210', '0000000000000042'],
  parentBlockHash: '0000000000001234',
  tokenIds: tokens,
  blockSize: 16,
  loraId: 7,
};

describe('decodeKvEventBatch', () => {
  it.each([
    [
      '0.10.0–0.10.1 arrays (no medium)',
      [
        ['BlockStored', [H1, H2], P, tokens, 16, 7],
        ['BlockRemoved', [H2]],
      ],
      [
        { ...stored, medium: null },
        { type: 'BlockRemoved', blockHashes: ['0000000000000042'], medium: null },
      ],
    ],
    [
      '0.10.2–0.13 arrays (with medium)',
      [
        ['BlockStored', [H1, H2], P, tokens, 16, 7, 'GPU'],
        ['BlockRemoved', [H2], 'GPU'],
      ],
      [
        { ...stored, medium: 'GPU' },
        { type: 'BlockRemoved', blockHashes: ['0000000000000042'], medium: 'GPU' },
      ],
    ],
    [
      'later arrays (lora_name, extra_keys, group_idx, spec kind and window, and a field not yet known)',
      [
        ['BlockStored', [H1, H2], P, tokens, 16, 7, 'GPU', 'sql-lora', [['salt']], 0, 'full_attention', null, 'future'],
        ['BlockRemoved', [H2], 'CPU', 1],
      ],
      [
        { ...stored, medium: 'GPU', loraName: 'sql-lora' },
        { type: 'BlockRemoved', blockHashes: ['0000000000000042'], medium: 'CPU' },
      ],
    ],
    [
      'maps (newer vLLM)',
      [
        {
          type: 'BlockStored',
          block_hashes: [H1, H2],
          parent_block_hash: P,
          token_ids: tokens,
          block_size: 16,
          lora_id: 7,
          medium: 'GPU',
          lora_name: null,
          group_idx: 0,
        },
        { type: 'BlockRemoved', block_hashes: [H2], medium: 'GPU' },
      ],
      [
        { ...stored, medium: 'GPU', loraName: null },
        { type: 'BlockRemoved', blockHashes: ['0000000000000042'], medium: 'GPU' },
      ],
    ],
  ])('reads %s', (_case, events, expected) => {
    const batch = decodeKvEventBatch(pack([1_764_100_000.25, events, 0]));
    expect(batch).toEqual({ tsMs: 1_764_100_000_250, events: expected, dataParallelRank: 0, skipped: [] });
    // The result fits the bus contract as it is.
    expect(isBatch.Check({ v: 1, model: 'm', pod: 'p', seq: 0, ts: batch.tsMs, events: batch.events })).toBe(true);
  });

  it('reads AllBlocksCleared in both forms, a batch without a rank, and omitted trailing defaults', () => {
    const batch = decodeKvEventBatch(
      pack([1.5, [['AllBlocksCleared'], { type: 'AllBlocksCleared' }, ['BlockStored', [H2], null, tokens.slice(0, 16), 16]]]),
    );
    expect(batch.events).toEqual([
      { type: 'AllBlocksCleared' },
      { type: 'AllBlocksCleared' },
      // lora_id and medium were dropped by omit_defaults: they read as null
      {
        type: 'BlockStored',
        blockHashes: ['0000000000000042'],
        parentBlockHash: null,
        tokenIds: tokens.slice(0, 16),
        blockSize: 16,
        loraId: null,
        medium: null,
      },
    ]);
    expect(batch.dataParallelRank).toBeUndefined();
    expect(batch.tsMs).toBe(1500);
  });

  it('skips events it cannot read, with the reason, and keeps the rest of the batch', () => {
    const batch = decodeKvEventBatch(
      pack([
        2,
        [
          ['BlockMoved', [H1]], // a type this build does not know
          ['BlockStored', 'not-a-list', null, [], 16, null, 'GPU'],
          ['BlockStored', [H1], null, [-1], 16, null, 'GPU'],
          ['BlockRemoved', [H1], 'GPU'],
        ],
        0,
      ]),
    );
    expect(batch.events).toEqual([{ type: 'BlockRemoved', blockHashes: ['fedcba9876543210'], medium: 'GPU' }]);
    expect(batch.skipped).toEqual([
      { tag: 'BlockMoved', reason: 'unknown event type "BlockMoved"' },
      { tag: 'BlockStored', reason: 'block_hashes is not a list' },
      { tag: 'BlockStored', reason: 'a token id is negative' },
    ]);
  });

  it.each([
    ['not msgpack', new Uint8Array([0xc1])], // 0xc1 is the one byte msgpack never uses
    ['not an array', pack({ ts: 1, events: [] })],
    ['no event list', pack([1, 'events'])],
    ['a lone timestamp', pack([1])],
  ])('refuses a payload that is %s', (_case, payload) => {
    expect(() => decodeKvEventBatch(payload)).toThrow(KvBatchDecodeError);
  });

  it('uses no timestamp it cannot trust', () => {
    expect(decodeKvEventBatch(pack([-5, []])).tsMs).toBeUndefined();
    expect(decodeKvEventBatch(pack(['yesterday', []])).tsMs).toBeUndefined();
  });
});

describe('blockHashToHex', () => {
  it.each([
    ['an unsigned 64-bit bigint', 0xffffffffffffffffn, 'ffffffffffffffff'],
    ['a small number', 255, '00000000000000ff'],
    ['zero', 0, '0000000000000000'],
    // vLLM 0.10.0's builtin hash is a signed 64-bit int: -1 is the same 64 bits as 2^64 - 1.
    ['a negative (signed) int', -1n, 'ffffffffffffffff'],
    ['a negative number', -2, 'fffffffffffffffe'],
    ['raw digest bytes (hash ints turned off)', new Uint8Array([0xde, 0xad, 0xbe, 0xef]), 'deadbeef'],
  ])('writes %s as lowercase hex', (_case, value, hex) => {
    expect(blockHashToHex(value)).toBe(hex);
  });

  it.each([
    ['a fraction', 1.5],
    ['a string', 'abc'],
    ['a 65-bit int', 1n << 64n],
    ['empty bytes', new Uint8Array(0)],
    ['null', null],
  ])('refuses %s', (_case, value) => {
    expect(() => blockHashToHex(value)).toThrow(TypeError);
  });
});

describe('toContractEvent', () => {
  it('ignores fields of a map it does not know', () => {
    expect(toContractEvent({ type: 'BlockRemoved', block_hashes: [1], medium: null, group_idx: 3, extra: true })).toEqual({
      type: 'BlockRemoved',
      blockHashes: ['0000000000000001'],
      medium: null,
    });
  });
});
