import { Dealer, Subscriber } from 'zeromq';

/** A subscription to an engine's KV-event publisher: multipart messages in arrival order. */
export interface KvFrameStream {
  /** The next message (its frames); undefined once the stream is closed. */
  next(): Promise<Uint8Array[] | undefined>;
  /** Tells `listener` when the connection to the publisher comes up (true) or goes down (false). */
  onConnectionChange(listener: (connected: boolean) => void): void;
  close(): void;
}

export interface ReplayedBatch {
  seq: bigint;
  payload: Uint8Array;
}

export interface ReplayResult {
  /** Batches the engine still buffered, with seq ≥ the start asked for, in its order. */
  batches: ReplayedBatch[];
  /** True when the end marker arrived; false when the replay endpoint went silent first. */
  complete: boolean;
}

/**
 * How the KV-event bridge reaches an engine's publisher: the subscription and the replay request.
 * The ZeroMQ adapter ({@link createZmqKvTransport}) is the real one; vLLM and engine-sim speak it.
 */
export interface KvEventTransport {
  /** Connects to the publisher at `endpoint` and subscribes to messages whose topic starts with `topic`. */
  subscribe(endpoint: string, topic: string): KvFrameStream;
  /**
   * Asks the replay endpoint (vLLM's ROUTER) for the batches from `fromSeq` on. Gives up on silence of
   * `timeoutMs`. Never rejects for a missing or slow endpoint (an empty, incomplete result instead).
   */
  replay(endpoint: string, fromSeq: bigint, timeoutMs: number): Promise<ReplayResult>;
}

/** vLLM's replay end marker: seq −1 as a signed 8-byte big-endian integer. */
const END_SEQ = -1n;

export function seqBytes(seq: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(BigInt.asIntN(64, seq));
  return b;
}

/** Reads an 8-byte big-endian sequence number; undefined for any other length. */
export function readSeq(frame: Uint8Array, signed = false): bigint | undefined {
  if (frame.length !== 8) return undefined;
  const b = Buffer.from(frame.buffer, frame.byteOffset, 8);
  return signed ? b.readBigInt64BE() : b.readBigUInt64BE();
}

/**
 * Splits one replay reply into seq and payload. vLLM sends `["", seq, payload]` (to a DEALER, after the
 * envelope delimiter) and, from July 2026, `["", topic, seq, payload]`; the end marker is seq −1.
 */
export function parseReplayReply(frames: readonly Uint8Array[]): { seq: bigint; payload: Uint8Array } | undefined {
  const body = frames.length > 2 && frames[0]!.length === 0 ? frames.slice(1) : frames;
  if (body.length !== 2 && body.length !== 3) return undefined;
  const [seqFrame, payload] = body.slice(-2) as [Uint8Array, Uint8Array];
  const seq = readSeq(seqFrame, true);
  return seq === undefined ? undefined : { seq, payload };
}

/** The ZeroMQ transport: a SUB socket per subscription (reconnects by itself), a DEALER per replay. */
export function createZmqKvTransport(options: { reconnectIntervalMs?: number } = {}): KvEventTransport {
  const reconnectInterval = options.reconnectIntervalMs ?? 100;
  return {
    subscribe(endpoint, topic) {
      // linger 0: closing never waits for the network; a SUB socket has nothing to deliver anyway.
      const socket = new Subscriber({ linger: 0, reconnectInterval, receiveHighWaterMark: 100_000 });
      const listeners: Array<(connected: boolean) => void> = [];
      // The observer is read with receive(), not its EventEmitter mode: that mode patches the addon's
      // shared prototype once per process, which breaks when the module is loaded more than once (jest).
      const observer = socket.events;
      void (async () => {
        while (!observer.closed) {
          try {
            const event = await observer.receive();
            if (event.type === 'connect') listeners.forEach((l) => l(true));
            else if (event.type === 'disconnect') listeners.forEach((l) => l(false));
          } catch {
            return; // closed with its socket
          }
        }
      })();
      socket.connect(endpoint);
      socket.subscribe(topic);
      return {
        async next() {
          if (socket.closed) return undefined;
          try {
            return await socket.receive();
          } catch (err) {
            if (socket.closed) return undefined;
            throw err;
          }
        },
        onConnectionChange(listener) {
          listeners.push(listener);
        },
        close() {
          if (!socket.closed) socket.close();
        },
      };
    },

    async replay(endpoint, fromSeq, timeoutMs) {
      const socket = new Dealer({ linger: 0, receiveTimeout: timeoutMs, sendTimeout: timeoutMs });
      const batches: ReplayedBatch[] = [];
      try {
        socket.connect(endpoint);
        // The empty delimiter makes the request look like a REQ socket's, which vLLM's ROUTER expects.
        await socket.send([Buffer.alloc(0), seqBytes(fromSeq)]);
        for (;;) {
          const reply = parseReplayReply(await socket.receive());
          if (!reply) continue;
          if (reply.seq === END_SEQ) return { batches, complete: true };
          batches.push({ seq: BigInt.asUintN(64, reply.seq), payload: reply.payload });
        }
      } catch {
        // Silence (receive timeout) or an unreachable endpoint: keep what arrived.
        return { batches, complete: false };
      } finally {
        socket.close();
      }
    },
  };
}
