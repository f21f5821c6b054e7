// Test helper: a KV-event publisher speaking vLLM's ZMQ protocol (PUB frames [topic, seq, payload], and a
// ROUTER replay endpoint), driven by the test batch by batch, so gaps, restarts and bad frames can be made
// on purpose. Real sockets; engine-sim is the stand-in for a whole engine.
import { encode } from '@msgpack/msgpack';
import { Router, XPublisher } from 'zeromq';
import { seqBytes } from '../kv-events/transport';

export interface TestKvPublisher {
  /** Where a subscriber connects, e.g. tcp://127.0.0.1:41234. */
  readonly endpoint: string;
  readonly replayEndpoint: string | undefined;
  /** Sends one batch with the given engine seq (kept for replay unless `replayable` is false). */
  send(seq: bigint, payload: Uint8Array, options?: { replayable?: boolean }): Promise<void>;
  /** Keeps a batch for replay without sending it live (as if the subscriber had missed it). */
  buffer(seq: bigint, payload: Uint8Array): void;
  /** Sends raw frames (malformed messages). */
  sendFrames(frames: Array<Uint8Array | string>): Promise<void>;
  /**
   * Resolves once a subscriber's subscription has reached this publisher, so nothing sent afterwards is
   * lost to ZeroMQ's late-joiner window (an XPUB socket sees subscriptions; vLLM's PUB does not need to).
   */
  subscribed(): Promise<void>;
  /** Replay requests received, as their start seq. */
  readonly replayRequests: bigint[];
  close(): void;
}

/**
 * Binds, retrying for a while when the address is still taken: ZeroMQ releases a closed socket's port
 * in its I/O thread, a moment after close() returns, and a restarted engine binds the same port.
 */
async function bindRetrying(socket: { bind(endpoint: string): Promise<void> }, endpoint: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await socket.bind(endpoint);
    } catch (err) {
      if ((err as { code?: string }).code !== 'EADDRINUSE' || attempt >= 100) throw err;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/** A vLLM-style msgpack EventBatch `[ts, events, rank]`; events in array or map form, hashes as bigints. */
export function kvBatch(tsSeconds: number, events: unknown[]): Uint8Array {
  return encode([tsSeconds, events, 0], { useBigInt64: true });
}

/**
 * Starts a publisher on 127.0.0.1 (a fresh port, or `endpoint` to stand in for a restarted engine).
 * `replay: true` also binds a ROUTER that answers like vLLM's (delimiter echoed, then [seq, payload]
 * per buffered batch, then the end marker −1).
 */
export async function startTestKvPublisher(
  options: { endpoint?: string; replay?: boolean | string; topic?: string } = {},
): Promise<TestKvPublisher> {
  const pub = new XPublisher({ linger: 0 });
  await bindRetrying(pub, options.endpoint ?? 'tcp://127.0.0.1:0');
  const topic = options.topic ?? '';
  let onSubscribed: () => void = () => undefined;
  const subscribed = new Promise<void>((resolve) => (onSubscribed = resolve));
  const listening = (async () => {
    try {
      // Subscription messages: 0x01 + topic prefix.
      for await (const [frame] of pub) if (frame?.[0] === 1) onSubscribed();
    } catch {
      // closed
    }
  })();
  const buffer: Array<{ seq: bigint; payload: Uint8Array }> = [];
  const replayRequests: bigint[] = [];
  let router: Router | undefined;
  let serving: Promise<void> = Promise.resolve();
  if (options.replay) {
    router = new Router({ linger: 0 });
    await bindRetrying(router, typeof options.replay === 'string' ? options.replay : 'tcp://127.0.0.1:0');
    const r = router;
    serving = (async () => {
      try {
        for await (const frames of r) {
          const [identity, , start] = frames;
          if (!identity || !start || start.length !== 8) continue;
          const from = start.readBigUInt64BE();
          replayRequests.push(from);
          for (const b of buffer) if (b.seq >= from) await r.send([identity, '', seqBytes(b.seq), b.payload]);
          await r.send([identity, '', seqBytes(-1n), '']);
        }
      } catch {
        // closed
      }
    })();
  }
  return {
    endpoint: pub.lastEndpoint!,
    replayEndpoint: router?.lastEndpoint ?? undefined,
    replayRequests,
    async send(seq, payload, sendOptions = {}) {
      if (sendOptions.replayable !== false) buffer.push({ seq, payload });
      await pub.send([topic, seqBytes(seq), payload]);
    },
    buffer(seq, payload) {
      buffer.push({ seq, payload });
    },
    subscribed: () => subscribed,
    async sendFrames(frames) {
      await pub.send(frames);
    },
    close() {
      if (!pub.closed) pub.close();
      if (router && !router.closed) router.close();
      void serving;
      void listening;
    },
  };
}
