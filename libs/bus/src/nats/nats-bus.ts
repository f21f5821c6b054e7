import { connect } from '@nats-io/transport-node';
import { headers as natsHeaders, type Msg, type MsgHdrs, type NatsConnection, errors as natsErrors } from '@nats-io/nats-core';
import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import { type KV, Kvm } from '@nats-io/kv';
import {
  assertValidKey,
  type Bus,
  BusClosedError,
  type BusMessage,
  type BusState,
  type HandlerErrorReporter,
  type KvBucket,
  type KvBucketOptions,
  type KvChange,
  KvConflictError,
  type KvEntry,
  type KvWatch,
  type KvWatchOptions,
  type MessageHandler,
  NoRespondersError,
  type RequestOptions,
  RequestTimeoutError,
  type SubscribeOptions,
  type Subscription,
} from '../port';

export interface NatsBusOptions {
  /** One URL or a comma-separated list, e.g. `nats://127.0.0.1:4222`. */
  servers: string;
  /** Connection name shown by the server (service and instance). */
  name?: string;
  /** Milliseconds between reconnect attempts; the client retries forever. */
  reconnectWaitMs?: number;
  /** Milliseconds to wait for the first connection before failing start-up. */
  connectTimeoutMs?: number;
  onHandlerError?: HandlerErrorReporter;
}

function toHeaders(h?: Record<string, string>): MsgHdrs | undefined {
  if (!h) return undefined;
  const out = natsHeaders();
  for (const [k, v] of Object.entries(h)) out.set(k, v);
  return out;
}

function fromHeaders(h?: MsgHdrs): Record<string, string> | undefined {
  if (!h) return undefined;
  const out: Record<string, string> = {};
  for (const [k, values] of h) if (values[0] !== undefined) out[k] = values[0];
  return out;
}

function toBusMessage(m: Msg): BusMessage {
  return {
    subject: m.subject,
    data: m.data,
    headers: fromHeaders(m.headers),
    reply: m.reply || undefined,
    respond: (data, headers) => m.respond(data, { headers: toHeaders(headers) }),
  };
}

/**
 * The Bus over NATS: core subjects for events and request/reply, JetStream KV for shared state.
 * The client reconnects forever; subscriptions and KV watches resume on reconnect, and publishes made
 * while disconnected are buffered by the client (up to its reconnect buffer) and sent on reconnect.
 */
export class NatsBus implements Bus {
  private current: BusState = 'connected';
  private readonly listeners = new Set<(state: BusState) => void>();
  private readonly buckets = new Map<string, Promise<NatsKvBucket>>();
  private readonly kvm: Kvm;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly reportError: HandlerErrorReporter,
  ) {
    this.kvm = new Kvm(nc);
    void this.watchStatus();
  }

  static async connect(options: NatsBusOptions): Promise<NatsBus> {
    const nc = await connect({
      servers: options.servers.split(',').map((s) => s.trim()),
      name: options.name,
      maxReconnectAttempts: -1,
      reconnectTimeWait: options.reconnectWaitMs ?? 250,
      timeout: options.connectTimeoutMs ?? 5_000,
      pingInterval: 10_000,
    });
    return new NatsBus(nc, options.onHandlerError ?? ((err, subject) => console.error(`bus handler for ${subject} failed`, err)));
  }

  publish(subject: string, data: Uint8Array, headers?: Record<string, string>): void {
    if (this.current === 'closed') return;
    try {
      this.nc.publish(subject, data, { headers: toHeaders(headers) });
    } catch (err) {
      // Publishing is fire-and-forget: a closed or draining connection must not crash the publisher.
      this.reportError(err, subject);
    }
  }

  subscribe(subject: string, handler: MessageHandler, options: SubscribeOptions = {}): Subscription {
    if (this.current === 'closed') throw new BusClosedError();
    const sub = this.nc.subscribe(subject, {
      queue: options.queue,
      callback: (err, msg) => {
        if (err) {
          this.reportError(err, subject);
          return;
        }
        try {
          const result = handler(toBusMessage(msg));
          if (result && typeof (result as Promise<void>).catch === 'function') {
            (result as Promise<void>).catch((e) => this.reportError(e, msg.subject));
          }
        } catch (e) {
          this.reportError(e, msg.subject);
        }
      },
    });
    return { subject, unsubscribe: () => sub.unsubscribe() };
  }

  async request(subject: string, data: Uint8Array, options: RequestOptions = {}): Promise<BusMessage> {
    if (this.current === 'closed') throw new BusClosedError();
    const timeoutMs = options.timeoutMs ?? 5_000;
    try {
      const reply = await this.nc.request(subject, data, { timeout: timeoutMs, headers: toHeaders(options.headers) });
      return toBusMessage(reply);
    } catch (err) {
      if (err instanceof natsErrors.RequestError && err.isNoResponders()) throw new NoRespondersError(subject, { cause: err });
      if (err instanceof natsErrors.NoRespondersError) throw new NoRespondersError(subject, { cause: err });
      if (err instanceof natsErrors.TimeoutError || (err as Error)?.cause instanceof natsErrors.TimeoutError) {
        throw new RequestTimeoutError(subject, timeoutMs, { cause: err });
      }
      throw err;
    }
  }

  kv(bucket: string, options: KvBucketOptions = {}): Promise<KvBucket> {
    if (this.current === 'closed') return Promise.reject(new BusClosedError());
    let opened = this.buckets.get(bucket);
    if (!opened) {
      opened = this.kvm
        .create(bucket, { history: options.history ?? 1, ...(options.ttlMs ? { ttl: options.ttlMs } : {}) })
        .then((kv) => new NatsKvBucket(bucket, kv, this.reportError));
      // A failed open (server down) must not poison later attempts.
      opened.catch(() => this.buckets.delete(bucket));
      this.buckets.set(bucket, opened);
    }
    return opened;
  }

  state(): BusState {
    return this.current;
  }

  onStateChange(listener: (state: BusState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async flush(): Promise<void> {
    await this.nc.flush();
  }

  async close(): Promise<void> {
    if (this.current === 'closed') return;
    for (const b of this.buckets.values()) void b.then((kv) => kv.stopAll()).catch(() => undefined);
    await this.nc.drain().catch(() => this.nc.close());
    this.setState('closed');
  }

  private setState(state: BusState): void {
    if (state === this.current) return;
    this.current = state;
    for (const l of this.listeners) l(state);
  }

  private async watchStatus(): Promise<void> {
    void this.nc.closed().then(() => this.setState('closed'));
    for await (const s of this.nc.status()) {
      if (this.current === 'closed') return;
      if (s.type === 'disconnect') this.setState('disconnected');
      else if (s.type === 'reconnecting') this.setState('reconnecting');
      else if (s.type === 'reconnect') this.setState('connected');
    }
  }
}

const isConflict = (err: unknown) =>
  err instanceof JetStreamApiError &&
  (err.code === JetStreamApiCodes.StreamWrongLastSequence || err.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown);

class NatsKvBucket implements KvBucket {
  private readonly active = new Set<() => void>();

  constructor(
    readonly name: string,
    private readonly kv: KV,
    private readonly reportError: HandlerErrorReporter,
  ) {}

  async get(key: string): Promise<KvEntry | null> {
    assertValidKey(key);
    const e = await this.kv.get(key);
    if (!e || e.operation !== 'PUT') return null;
    return { key, value: e.value, revision: e.revision };
  }

  async put(key: string, value: Uint8Array): Promise<number> {
    assertValidKey(key);
    return this.kv.put(key, value);
  }

  async create(key: string, value: Uint8Array): Promise<number> {
    assertValidKey(key);
    try {
      return await this.kv.create(key, value);
    } catch (err) {
      if (isConflict(err)) throw new KvConflictError(this.name, key, { cause: err });
      throw err;
    }
  }

  async update(key: string, value: Uint8Array, expectedRevision: number): Promise<number> {
    assertValidKey(key);
    try {
      return await this.kv.update(key, value, expectedRevision);
    } catch (err) {
      if (isConflict(err)) throw new KvConflictError(this.name, key, { cause: err });
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    assertValidKey(key);
    if ((await this.get(key)) === null) return;
    await this.kv.delete(key);
  }

  async keys(filter = '>'): Promise<string[]> {
    const out: string[] = [];
    for await (const k of await this.kv.keys(filter)) out.push(k);
    return out;
  }

  /**
   * Initial values come from a snapshot (keys + get) taken after noting the stream's last revision;
   * changes come from a watcher that starts just after that revision. A change that lands in both is
   * delivered once: the watcher skips revisions the snapshot already delivered for that key.
   */
  watch(handler: (change: KvChange) => void, options: KvWatchOptions = {}): KvWatch {
    const pattern = options.key ?? '>';
    let stopped = false;
    let stopIterator: (() => void) | undefined;
    const seen = new Map<string, number>();
    const deliver = (change: KvChange) => {
      if (stopped) return;
      try {
        handler(change);
      } catch (err) {
        this.reportError(err, `kv ${this.name} ${change.key}`);
      }
    };
    const stop = () => {
      stopped = true;
      stopIterator?.();
      this.active.delete(stop);
    };
    this.active.add(stop);

    const ready = (async () => {
      const status = await this.kv.status();
      const lastRevision = status.streamInfo.state.last_seq;
      if (options.initial !== false) {
        for (const key of await this.keys(pattern)) {
          const entry = await this.get(key);
          if (!entry) continue;
          seen.set(key, entry.revision);
          deliver({ key, operation: 'put', value: entry.value, revision: entry.revision });
        }
      }
      if (stopped) return;
      const iterator = await this.kv.watch({ key: pattern, resumeFromRevision: lastRevision + 1 });
      stopIterator = () => iterator.stop();
      if (stopped) iterator.stop();
      void (async () => {
        for await (const e of iterator) {
          if ((seen.get(e.key) ?? 0) >= e.revision) continue;
          seen.delete(e.key);
          deliver({
            key: e.key,
            operation: e.operation === 'PUT' ? 'put' : 'delete',
            value: e.operation === 'PUT' ? e.value : new Uint8Array(),
            revision: e.revision,
          });
        }
      })().catch((err) => this.reportError(err, `kv ${this.name} watch`));
    })();
    ready.catch((err) => this.reportError(err, `kv ${this.name} watch`));
    return { ready, stop };
  }

  stopAll(): void {
    for (const stop of [...this.active]) stop();
  }
}
