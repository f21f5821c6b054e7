import { type Clock } from '@brix/clock';
import { type KvEventBatch } from '@brix/engine-model';
import { type Logger } from '@brix/observability';
import * as zmq from 'zeromq';
import { type KvEventsConfig } from '../config';
import { EventBatchEncoder, REPLAY_END_SEQ, seqFrame } from './encode';
import { type KvEventSink } from './sink';

/** vLLM binds when the endpoint names no peer (`*`, `::`, ipc://, inproc://) and connects otherwise. */
export function shouldBind(endpoint: string): boolean {
  return endpoint.includes('*') || endpoint.includes('::') || endpoint.startsWith('ipc://') || endpoint.startsWith('inproc://');
}

export interface ZmqPublisherOptions {
  config: KvEventsConfig;
  /** Wall clock: each batch's `ts` is the Unix time it was published, as vLLM's `time.time()`. */
  wall: Clock;
  logger: Logger;
  /** vLLM adds the rank to the port of each endpoint; engine-sim is one engine, rank 0. */
  dataParallelRank?: number;
}

interface Pending {
  payload: Uint8Array;
}

/**
 * Publishes KV-cache events the way vLLM's ZmqEventPublisher does: a PUB socket sending
 * `[topic, seq (8-byte big-endian, from 0, one per batch), msgpack EventBatch]`, a bounded buffer of sent
 * batches, and, with `replay_endpoint`, a ROUTER socket that answers `[start seq]` with every buffered batch
 * from that seq as `[seq, payload]` and then `[-1, ""]`.
 *
 * Sends are queued (zeromq allows one send in flight per socket) so `publish` never waits; when
 * `max_queue_size` batches are waiting, new ones are dropped and counted, and never get a sequence number.
 */
export class ZmqKvEventPublisher implements KvEventSink {
  private readonly encoder = new EventBatchEncoder();
  private readonly queue: Pending[] = [];
  private readonly sent: Array<{ seq: bigint; seqBytes: Buffer; payload: Uint8Array }> = [];
  private seq = 0n;
  private draining = false;
  private closed = false;
  private idle: Promise<void> = Promise.resolve();
  private replayLoop: Promise<void> = Promise.resolve();
  /** Batches dropped because the send queue was full. */
  dropped = 0;

  private constructor(
    private readonly options: ZmqPublisherOptions,
    private readonly pub: zmq.Publisher,
    private readonly replay: zmq.Router | null,
    private readonly topic: Buffer,
  ) {
    if (replay) this.replayLoop = this.serveReplay(replay);
  }

  /** Opens (binds or connects) the sockets. */
  static async open(options: ZmqPublisherOptions): Promise<ZmqKvEventPublisher> {
    const { config } = options;
    const pub = new zmq.Publisher({ sendHighWaterMark: config.hwm, linger: 0 });
    const endpoint = withRankOffset(config.endpoint, options.dataParallelRank ?? 0);
    if (shouldBind(endpoint)) await pub.bind(endpoint);
    else pub.connect(endpoint);
    let replay: zmq.Router | null = null;
    if (config.replayEndpoint) {
      replay = new zmq.Router({ linger: 0 });
      try {
        await replay.bind(withRankOffset(config.replayEndpoint, options.dataParallelRank ?? 0));
      } catch (err) {
        pub.close();
        replay.close();
        throw err;
      }
    }
    return new ZmqKvEventPublisher(options, pub, replay, Buffer.from(config.topic, 'utf8'));
  }

  /** Endpoint the PUB socket is bound to (resolves `tcp://*:0` to the chosen port); null when it connected. */
  get boundEndpoint(): string | null {
    return this.pub.lastEndpoint ?? null;
  }

  get replayEndpoint(): string | null {
    return this.replay?.lastEndpoint ?? null;
  }

  publish(batch: KvEventBatch): void {
    if (this.closed || batch.events.length === 0) return;
    if (this.queue.length >= this.options.config.maxQueueSize) {
      if (this.dropped++ === 0) this.options.logger.warn('KV event queue full: dropping batches');
      return;
    }
    const ts = this.options.wall.now() / 1000;
    this.queue.push({ payload: this.encoder.encode(ts, batch.events, this.options.dataParallelRank ?? 0) });
    if (!this.draining) this.idle = this.drain();
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      while (this.queue.length > 0 && !this.closed) {
        const { payload } = this.queue.shift()!;
        const seq = this.seq++;
        const seqBytes = seqFrame(seq);
        try {
          await this.pub.send([this.topic, seqBytes, payload]);
        } catch (err) {
          if (this.closed) return;
          this.options.logger.warn({ err }, 'KV event batch not sent');
          continue;
        }
        this.sent.push({ seq, seqBytes, payload });
        if (this.sent.length > this.options.config.bufferSteps) this.sent.shift();
      }
    } finally {
      this.draining = false;
    }
  }

  private async serveReplay(router: zmq.Router): Promise<void> {
    try {
      for await (const frames of router) {
        // [identity, "", start] from a REQ client; [identity, start] from a DEALER without a delimiter.
        if (frames.length !== 2 && frames.length !== 3) continue;
        const [identity] = frames;
        const prefix = frames.length === 3 ? [identity!, Buffer.alloc(0)] : [identity!];
        const start = frames[frames.length - 1]!;
        if (start.length !== 8) continue;
        const from = start.readBigUInt64BE(0);
        for (const b of this.sent.filter((x) => x.seq >= from)) await router.send([...prefix, b.seqBytes, b.payload]);
        await router.send([...prefix, REPLAY_END_SEQ, Buffer.alloc(0)]);
      }
    } catch (err) {
      if (!this.closed) this.options.logger.warn({ err }, 'KV event replay socket failed');
    }
  }

  /** Sends what is queued (briefly), then closes the sockets. */
  async close(): Promise<void> {
    if (this.closed) return;
    await Promise.race([this.idle, this.options.wall.sleep(200)]);
    this.closed = true;
    this.pub.close();
    this.replay?.close();
    await this.replayLoop;
  }
}

/** vLLM's data-parallel convention: rank N adds N to the endpoint's port. */
function withRankOffset(endpoint: string, rank: number): string {
  if (rank === 0) return endpoint;
  const m = /^(tcp:\/\/.*:)(\d+)$/.exec(endpoint);
  return m ? `${m[1]}${Number(m[2]) + rank}` : endpoint;
}
