import { type Bus, publishEvent } from '@brix/bus';
import { type Clock } from '@brix/clock';
import { type KvCacheEvent, KvEvents } from '@brix/contracts';
import { type Logger } from '@brix/observability';
import { decodeKvEventBatch } from './decode';
import { type KvEventTransport, type KvFrameStream, readSeq } from './transport';

/** Counters the bridge reports to; prom-client's Counter and Gauge satisfy them (see metrics.ts). */
export interface KvBridgeMetrics {
  /** Batches by result: `published` (live), `replayed`, `undecodable`, `malformed` (bad frames). */
  batches: { inc(labels: { result: string }, value?: number): void };
  /** Events published, by type; events skipped, by `skipped:<type>`. */
  events: { inc(labels: { type: string }, value?: number): void };
  /** Gaps in the engine's sequence, by outcome: `replayed` (every missed batch fetched), `lost` (some or all not). */
  gaps: { inc(labels: { outcome: string }): void };
  /** Engine batches missed and not recovered. */
  lostBatches: { inc(value?: number): void };
  /** The engine's sequence started over (a new publisher process). */
  sequenceResets: { inc(): void };
  /** Whether the subscription is connected to the publisher (1) or not (0). */
  connected: { set(value: number): void };
}

export interface KvEventBridgeOptions {
  model: string;
  pod: string;
  bus: Bus;
  clock: Clock;
  logger: Logger;
  transport: KvEventTransport;
  /** The engine's publisher, e.g. `tcp://127.0.0.1:5557` (vLLM's `endpoint`, which it binds). */
  endpoint: string;
  /** The engine's replay ROUTER (vLLM's `replay_endpoint`); without it missed batches are only announced. */
  replayEndpoint?: string;
  /** Topic prefix to subscribe to; default every topic. */
  topic?: string;
  /** A replay that stays silent this long is given up, ms (default 1000). */
  replayTimeoutMs?: number;
  metrics?: KvBridgeMetrics;
}

/** The most a single gap moves the bridge's `seq` (a corrupt engine seq must not exhaust the number line). */
const MAX_SEQ_JUMP = 1_000_000n;

/**
 * Bridges one engine's KV-cache events (vLLM's ZMQ publisher: frames `[topic, seq, payload]`) onto the
 * bus as `brix.kv.events.<model>.<pod>` batches in the `kv-events` contract.
 *
 * Sequence numbers:
 * - `seq` is the bridge's own: +1 per published batch, starting at 0 when the bridge starts. A batch that
 *   could not be bridged (missed and not replayed, or undecodable) still takes its number, so a consumer
 *   sees a gap exactly where data is missing; `engineSeq` is the engine's frame seq.
 * - A jump in the engine's seq is a gap: with a replay endpoint the missed batches are fetched and
 *   published in order before the batch that revealed the gap; what cannot be fetched is counted lost,
 *   logged, and skipped in `seq`.
 * - The engine's seq going back means a new publisher process (the engine restarted, its cache is empty):
 *   the next published batch starts with an `AllBlocksCleared` event, and batches of the new process
 *   that were missed before the first one seen are fetched when a replay endpoint exists.
 *
 * Reconnecting after an engine restart is the transport's job (a ZMQ SUB socket reconnects by itself).
 */
export class KvEventBridge {
  private stream: KvFrameStream | undefined;
  private loop: Promise<void> | undefined;
  private nextSeq = 0;
  private lastEngineSeq: bigint | undefined;
  /** Set when the engine's sequence started over: its cache was emptied with the old process. */
  private clearPending = false;
  private readonly counts = { published: 0, replayed: 0, lost: 0, undecodable: 0, resets: 0 };

  constructor(private readonly options: KvEventBridgeOptions) {}

  /** Starts subscribing. Idempotent. */
  start(): void {
    if (this.stream) return;
    const { transport, endpoint, topic, metrics, logger } = this.options;
    metrics?.connected.set(0);
    const stream = transport.subscribe(endpoint, topic ?? '');
    stream.onConnectionChange((up) => {
      metrics?.connected.set(up ? 1 : 0);
      logger.info({ endpoint }, up ? 'kv event publisher connected' : 'kv event publisher disconnected');
    });
    this.stream = stream;
    this.loop = this.run(stream);
  }

  /** Stops the subscription and waits for the batch in hand to be finished. */
  async stop(): Promise<void> {
    this.stream?.close();
    await this.loop;
    this.stream = undefined;
    this.loop = undefined;
  }

  /** Totals since start: batches published (live and replayed), lost, undecodable; sequence resets. */
  stats(): Readonly<typeof this.counts> {
    return { ...this.counts };
  }

  private async run(stream: KvFrameStream): Promise<void> {
    for (;;) {
      let frames: Uint8Array[] | undefined;
      try {
        frames = await stream.next();
      } catch (err) {
        this.options.logger.warn({ err }, 'kv event subscription failed; retrying');
        await this.options.clock.sleep(100);
        continue;
      }
      if (!frames) return;
      try {
        await this.handle(frames);
      } catch (err) {
        // A bug in handling one batch must not end the bridge; the batch counts as missing.
        this.options.logger.error({ err }, 'kv event batch could not be bridged');
        this.skip(1n);
      }
    }
  }

  private async handle(frames: Uint8Array[]): Promise<void> {
    const seq = frames.length >= 3 ? readSeq(frames[frames.length - 2]!) : undefined;
    if (seq === undefined) {
      this.options.metrics?.batches.inc({ result: 'malformed' });
      this.options.logger.warn({ frames: frames.length }, 'kv event message is not [topic, seq, payload]; dropped');
      return;
    }
    const payload = frames[frames.length - 1]!;
    const last = this.lastEngineSeq;
    if (last !== undefined) {
      if (seq <= last) {
        this.counts.resets++;
        this.options.metrics?.sequenceResets.inc();
        this.options.logger.info(
          { seq: String(seq), last: String(last) },
          'kv event sequence started over: the engine restarted',
        );
        this.lastEngineSeq = undefined;
        this.clearPending = true;
        if (seq > 0n) await this.recover(0n, seq);
      } else if (seq > last + 1n) {
        await this.recover(last + 1n, seq);
      }
    }
    this.emit(seq, payload, 'published');
  }

  /** Batches `[from, until)` of the engine's sequence were missed: fetch them, or account for them. */
  private async recover(from: bigint, until: bigint): Promise<void> {
    const { replayEndpoint, transport, logger, metrics } = this.options;
    let expected = from;
    if (replayEndpoint) {
      const result = await transport.replay(replayEndpoint, from, this.options.replayTimeoutMs ?? 1000);
      for (const b of result.batches) {
        if (b.seq < expected || b.seq >= until) continue;
        if (b.seq > expected) this.lose(b.seq - expected);
        this.emit(b.seq, b.payload, 'replayed');
        expected = b.seq + 1n;
      }
    }
    const missing = until - expected;
    if (missing > 0n) {
      this.lose(missing);
      metrics?.gaps.inc({ outcome: 'lost' });
      logger.warn(
        {
          from: String(from),
          until: String(until),
          lost: String(missing),
          replay: replayEndpoint ? 'incomplete' : 'unavailable',
        },
        'kv event batches missed',
      );
    } else {
      metrics?.gaps.inc({ outcome: 'replayed' });
      logger.info({ from: String(from), until: String(until) }, 'kv event gap replayed');
    }
    this.lastEngineSeq = until - 1n;
  }

  private lose(count: bigint): void {
    this.counts.lost += Number(count);
    this.options.metrics?.lostBatches.inc(Number(count));
    this.skip(count);
  }

  /** Spends bridge sequence numbers on batches that were not published, so consumers see the gap. */
  private skip(count: bigint): void {
    this.nextSeq += Number(count > MAX_SEQ_JUMP ? MAX_SEQ_JUMP : count);
  }

  private emit(seq: bigint, payload: Uint8Array, result: 'published' | 'replayed'): void {
    const { model, pod, bus, clock, logger, metrics } = this.options;
    this.lastEngineSeq = seq;
    let events: KvCacheEvent[];
    try {
      const decoded = decodeKvEventBatch(payload);
      for (const s of decoded.skipped) metrics?.events.inc({ type: `skipped:${s.tag}` });
      if (decoded.skipped.length > 0) logger.warn({ seq: String(seq), skipped: decoded.skipped }, 'kv events skipped');
      events = this.clearPending ? [{ type: 'AllBlocksCleared' }, ...decoded.events] : decoded.events;
      // publishEvent validates against the contract: a batch that does not fit is refused here, not sent.
      publishEvent(
        bus,
        KvEvents,
        { model, pod },
        {
          v: 1,
          model,
          pod,
          seq: this.nextSeq,
          ts: decoded.tsMs ?? clock.now(),
          ...(seq <= BigInt(Number.MAX_SAFE_INTEGER) ? { engineSeq: Number(seq) } : {}),
          events,
        },
      );
    } catch (err) {
      this.counts.undecodable++;
      metrics?.batches.inc({ result: 'undecodable' });
      logger.warn({ err, seq: String(seq) }, 'kv event batch undecodable; dropped');
      this.skip(1n);
      return;
    }
    this.nextSeq++;
    this.clearPending = false;
    if (result === 'replayed') this.counts.replayed++;
    this.counts.published++;
    metrics?.batches.inc({ result });
    for (const e of events) metrics?.events.inc({ type: e.type });
  }
}
