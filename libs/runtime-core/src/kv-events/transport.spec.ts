import { freePort } from '@brix/testing';
import { createZmqKvTransport, parseReplayReply, readSeq, seqBytes } from './transport';

const empty = new Uint8Array(0);
const payload = new Uint8Array([0x93, 1, 2]);

describe('parseReplayReply', () => {
  it.each([
    ['vLLM ≤ mid-2026: ["", seq, payload]', [empty, seqBytes(7n), payload], { seq: 7n, payload }],
    ['vLLM from July 2026: ["", topic, seq, payload]', [empty, Buffer.from('kv'), seqBytes(7n), payload], { seq: 7n, payload }],
    ['a topic that is empty: ["", "", seq, payload]', [empty, empty, seqBytes(7n), payload], { seq: 7n, payload }],
    ['the old end marker ["", -1, ""]', [empty, seqBytes(-1n), empty], { seq: -1n, payload: empty }],
    ['the new end marker ["", "", -1, ""]', [empty, empty, seqBytes(-1n), empty], { seq: -1n, payload: empty }],
    ['no delimiter (a DEALER-to-ROUTER peer that sends none): [seq, payload]', [seqBytes(3n), payload], { seq: 3n, payload }],
  ])('reads %s', (_case, frames, expected) => {
    expect(parseReplayReply(frames)).toEqual(expected);
  });

  it.each([
    ['one frame', [seqBytes(1n)]],
    ['a short seq', [empty, Buffer.from([1, 2]), payload]],
    ['too many frames', [empty, empty, empty, seqBytes(1n), payload]],
  ])('refuses %s', (_case, frames) => {
    expect(parseReplayReply(frames)).toBeUndefined();
  });
});

describe('readSeq', () => {
  it('reads 8 bytes big-endian, unsigned or signed', () => {
    expect(readSeq(seqBytes(258n))).toBe(258n); // 0x0102
    expect(readSeq(seqBytes(-1n))).toBe(0xffffffffffffffffn);
    expect(readSeq(seqBytes(-1n), true)).toBe(-1n);
    expect(readSeq(new Uint8Array(7))).toBeUndefined();
  });
});

describe('createZmqKvTransport().replay', () => {
  it('gives up on a replay endpoint where nobody answers, with what it has: nothing', async () => {
    const transport = createZmqKvTransport();
    // Nothing listens on this port: the request is queued, the answer never comes.
    const result = await transport.replay(`tcp://127.0.0.1:${await freePort()}`, 5n, 100);
    expect(result).toEqual({ batches: [], complete: false });
  });
});
