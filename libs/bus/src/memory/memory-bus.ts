import { randomUUID } from 'node:crypto';
import { subjectMatches } from '@brix/contracts';
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

interface Sub {
  subject: string;
  queue?: string;
  handler: MessageHandler;
  closed: boolean;
}

export interface MemoryBusOptions {
  onHandlerError?: HandlerErrorReporter;
  /** Milliseconds since the epoch; injected so KV expiry can run on a virtual clock. */
  now?: () => number;
}

/**
 * The in-process Bus for embedded mode: subjects with NATS wildcard semantics, queue groups,
 * request/reply and KV buckets, all within one process. Delivery is asynchronous (a microtask later),
 * as it is over a network, so a publisher never runs subscriber code on its own stack.
 */
export class MemoryBus implements Bus {
  private readonly subs = new Set<Sub>();
  private readonly buckets = new Map<string, MemoryKvBucket>();
  private readonly listeners = new Set<(state: BusState) => void>();
  private readonly queueCursor = new Map<string, number>();
  private current: BusState = 'connected';
  private readonly reportError: HandlerErrorReporter;
  private readonly now: () => number;

  constructor(options: MemoryBusOptions = {}) {
    this.reportError = options.onHandlerError ?? ((err, subject) => console.error(`bus handler for ${subject} failed`, err));
    this.now = options.now ?? Date.now;
  }

  publish(subject: string, data: Uint8Array, headers?: Record<string, string>): void {
    if (this.current === 'closed') return;
    this.deliver(subject, data, headers, undefined);
  }

  subscribe(subject: string, handler: MessageHandler, options: SubscribeOptions = {}): Subscription {
    if (this.current === 'closed') throw new BusClosedError();
    const sub: Sub = { subject, queue: options.queue, handler, closed: false };
    this.subs.add(sub);
    return {
      subject,
      unsubscribe: () => {
        sub.closed = true;
        this.subs.delete(sub);
      },
    };
  }

  async request(subject: string, data: Uint8Array, options: RequestOptions = {}): Promise<BusMessage> {
    if (this.current === 'closed') throw new BusClosedError();
    const timeoutMs = options.timeoutMs ?? 5_000;
    const inbox = `_INBOX.${randomUUID()}`;
    return new Promise<BusMessage>((resolve, reject) => {
      const replySub = this.subscribe(inbox, (msg) => {
        clearTimeout(timer);
        replySub.unsubscribe();
        resolve(msg);
      });
      const timer = setTimeout(() => {
        replySub.unsubscribe();
        reject(new RequestTimeoutError(subject, timeoutMs));
      }, timeoutMs);
      if (this.deliver(subject, data, options.headers, inbox) === 0) {
        clearTimeout(timer);
        replySub.unsubscribe();
        reject(new NoRespondersError(subject));
      }
    });
  }

  async kv(bucket: string, options: KvBucketOptions = {}): Promise<KvBucket> {
    if (this.current === 'closed') throw new BusClosedError();
    let kv = this.buckets.get(bucket);
    if (!kv) {
      kv = new MemoryKvBucket(bucket, options, this.now);
      this.buckets.set(bucket, kv);
    }
    return kv;
  }

  /**
   * A client of this bus for one component of an embedded process: it shares subjects and buckets
   * with every other client, and its close() ends only its own subscriptions and watches.
   */
  client(): Bus {
    return new MemoryBusClient(this);
  }

  state(): BusState {
    return this.current;
  }

  onStateChange(listener: (state: BusState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async flush(): Promise<void> {
    // Deliveries are queued as microtasks; one macrotask turn lets them all run.
    await new Promise((r) => setImmediate(r));
  }

  async close(): Promise<void> {
    if (this.current === 'closed') return;
    this.current = 'closed';
    this.subs.clear();
    for (const kv of this.buckets.values()) kv.stopAll();
    for (const l of this.listeners) l('closed');
  }

  /** Returns how many subscriptions received the message. */
  private deliver(
    subject: string,
    data: Uint8Array,
    headers: Record<string, string> | undefined,
    reply: string | undefined,
  ): number {
    const plain: Sub[] = [];
    const groups = new Map<string, Sub[]>();
    for (const sub of this.subs) {
      if (!subjectMatches(sub.subject, subject)) continue;
      if (sub.queue === undefined) plain.push(sub);
      else {
        const key = `${sub.subject}\u0000${sub.queue}`;
        const members = groups.get(key);
        if (members) members.push(sub);
        else groups.set(key, [sub]);
      }
    }
    const targets = plain;
    for (const [key, members] of groups) {
      const next = (this.queueCursor.get(key) ?? 0) % members.length;
      this.queueCursor.set(key, next + 1);
      targets.push(members[next]!);
    }
    for (const sub of targets) {
      const message: BusMessage = {
        subject,
        data,
        headers,
        reply,
        respond: (replyData, replyHeaders) => {
          if (!reply) return false;
          this.publish(reply, replyData, replyHeaders);
          return true;
        },
      };
      queueMicrotask(() => {
        if (sub.closed) return;
        try {
          const result = sub.handler(message);
          if (result && typeof (result as Promise<void>).catch === 'function') {
            (result as Promise<void>).catch((err) => this.reportError(err, subject));
          }
        } catch (err) {
          this.reportError(err, subject);
        }
      });
    }
    return targets.length;
  }
}

interface Stored {
  value: Uint8Array;
  revision: number;
  writtenAt: number;
}

class MemoryKvBucket implements KvBucket {
  private readonly entries = new Map<string, Stored>();
  private readonly watchers = new Set<{ pattern: string; push: (c: KvChange) => void; stop: () => void }>();
  private revision = 0;

  constructor(
    readonly name: string,
    private readonly options: KvBucketOptions,
    private readonly now: () => number,
  ) {}

  async get(key: string): Promise<KvEntry | null> {
    assertValidKey(key);
    const stored = this.live(key);
    return stored ? { key, value: stored.value, revision: stored.revision } : null;
  }

  async put(key: string, value: Uint8Array): Promise<number> {
    assertValidKey(key);
    return this.write(key, value);
  }

  async create(key: string, value: Uint8Array): Promise<number> {
    assertValidKey(key);
    if (this.live(key)) throw new KvConflictError(this.name, key);
    return this.write(key, value);
  }

  async update(key: string, value: Uint8Array, expectedRevision: number): Promise<number> {
    assertValidKey(key);
    const stored = this.live(key);
    if (!stored || stored.revision !== expectedRevision) throw new KvConflictError(this.name, key);
    return this.write(key, value);
  }

  async delete(key: string): Promise<void> {
    assertValidKey(key);
    if (!this.entries.has(key)) return;
    this.entries.delete(key);
    this.emit({ key, operation: 'delete', value: new Uint8Array(), revision: ++this.revision });
  }

  async keys(filter = '>'): Promise<string[]> {
    return [...this.entries.keys()].filter((k) => subjectMatches(filter, k) && this.live(k));
  }

  watch(handler: (change: KvChange) => void, options: KvWatchOptions = {}): KvWatch {
    const pattern = options.key ?? '>';
    // Changes are queued and drained in order on microtasks, initial values first.
    const queue: KvChange[] = [];
    let stopped = false;
    let draining = false;
    const drain = () => {
      if (draining) return;
      draining = true;
      queueMicrotask(() => {
        draining = false;
        while (!stopped && queue.length > 0) handler(queue.shift()!);
      });
    };
    if (options.initial !== false) {
      const current = [...this.entries.entries()]
        .filter(([k]) => subjectMatches(pattern, k) && this.live(k))
        .sort(([, a], [, b]) => a.revision - b.revision);
      for (const [key, s] of current) queue.push({ key, operation: 'put', value: s.value, revision: s.revision });
      drain();
    }
    const watcher = {
      pattern,
      push: (c: KvChange) => {
        queue.push(c);
        drain();
      },
      stop: () => {
        stopped = true;
        this.watchers.delete(watcher);
      },
    };
    this.watchers.add(watcher);
    const ready = new Promise<void>((resolve) => queueMicrotask(() => queueMicrotask(resolve)));
    return { ready, stop: watcher.stop };
  }

  stopAll(): void {
    for (const w of [...this.watchers]) w.stop();
  }

  private live(key: string): Stored | undefined {
    const stored = this.entries.get(key);
    if (!stored) return undefined;
    if (this.options.ttlMs !== undefined && this.now() - stored.writtenAt > this.options.ttlMs) {
      this.entries.delete(key);
      return undefined;
    }
    return stored;
  }

  private write(key: string, value: Uint8Array): number {
    const revision = ++this.revision;
    this.entries.set(key, { value, revision, writtenAt: this.now() });
    this.emit({ key, operation: 'put', value, revision });
    return revision;
  }

  private emit(change: KvChange): void {
    for (const w of this.watchers) if (subjectMatches(w.pattern, change.key)) w.push(change);
  }
}

class MemoryBusClient implements Bus {
  private readonly subs = new Set<Subscription>();
  private readonly watches = new Set<KvWatch>();
  private readonly listeners = new Set<(state: BusState) => void>();
  private closed = false;

  constructor(private readonly medium: MemoryBus) {}

  publish(subject: string, data: Uint8Array, headers?: Record<string, string>): void {
    if (!this.closed) this.medium.publish(subject, data, headers);
  }

  subscribe(subject: string, handler: MessageHandler, options?: SubscribeOptions): Subscription {
    if (this.closed) throw new BusClosedError();
    const sub = this.medium.subscribe(subject, handler, options);
    this.subs.add(sub);
    return {
      subject,
      unsubscribe: () => {
        this.subs.delete(sub);
        sub.unsubscribe();
      },
    };
  }

  request(subject: string, data: Uint8Array, options?: RequestOptions): Promise<BusMessage> {
    if (this.closed) return Promise.reject(new BusClosedError());
    return this.medium.request(subject, data, options);
  }

  async kv(bucket: string, options?: KvBucketOptions): Promise<KvBucket> {
    if (this.closed) throw new BusClosedError();
    const kv = await this.medium.kv(bucket, options);
    // Watches opened through this client end with it.
    const watches = this.watches;
    return {
      name: kv.name,
      get: (k) => kv.get(k),
      put: (k, v) => kv.put(k, v),
      create: (k, v) => kv.create(k, v),
      update: (k, v, r) => kv.update(k, v, r),
      delete: (k) => kv.delete(k),
      keys: (f) => kv.keys(f),
      watch: (handler, opts) => {
        const w = kv.watch(handler, opts);
        watches.add(w);
        return { ready: w.ready, stop: () => (watches.delete(w), w.stop()) };
      },
    };
  }

  state(): BusState {
    return this.closed ? 'closed' : this.medium.state();
  }

  onStateChange(listener: (state: BusState) => void): () => void {
    this.listeners.add(listener);
    const off = this.medium.onStateChange(listener);
    return () => {
      this.listeners.delete(listener);
      off();
    };
  }

  flush(): Promise<void> {
    return this.medium.flush();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.subs) s.unsubscribe();
    this.subs.clear();
    for (const w of this.watches) w.stop();
    this.watches.clear();
    for (const l of this.listeners) l('closed');
  }
}
