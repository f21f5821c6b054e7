/**
 * The Bus port: how Brix services exchange events and share small pieces of state.
 * Two adapters implement it and pass the same contract suite (bus-contract.ts):
 * - memory: one process, embedded mode (`npm start` with no NATS_URL);
 * - nats: core NATS subjects and JetStream KV buckets (distributed mode).
 *
 * Payloads are bytes at this level; typed publishing and subscribing over the contracts live in typed.ts.
 */

/** Connection state, as reported by {@link Bus.state} and {@link Bus.onStateChange}. */
export type BusState = 'connected' | 'reconnecting' | 'disconnected' | 'closed';

export interface BusMessage {
  readonly subject: string;
  readonly data: Uint8Array;
  readonly headers?: Readonly<Record<string, string>>;
  /** The reply subject of a request; absent for plain publishes. */
  readonly reply?: string;
  /** Answers a request. Returns false when the message was not a request. */
  respond(data: Uint8Array, headers?: Record<string, string>): boolean;
}

export type MessageHandler = (message: BusMessage) => void | Promise<void>;

export interface SubscribeOptions {
  /** Members of one queue group share the messages: each message goes to one member only. */
  queue?: string;
}

export interface Subscription {
  readonly subject: string;
  unsubscribe(): void;
}

export interface RequestOptions {
  /** Milliseconds to wait for a reply; default 5000. */
  timeoutMs?: number;
  headers?: Record<string, string>;
}

export interface KvBucketOptions {
  /** Values kept per key (1 = only the latest). */
  history?: number;
  /**
   * Age after which a value is dropped by the store, in ms (bucket-wide; NATS 2.9 has no per-key TTL,
   * so logic that needs per-key expiry keeps deadlines inside the value).
   */
  ttlMs?: number;
}

export interface KvEntry {
  readonly key: string;
  readonly value: Uint8Array;
  /** Monotonic per bucket: a later write to any key has a higher revision. */
  readonly revision: number;
}

export interface KvChange {
  readonly key: string;
  readonly operation: 'put' | 'delete';
  /** The new value; empty for deletes. */
  readonly value: Uint8Array;
  readonly revision: number;
}

export interface KvWatchOptions {
  /** Key or wildcard pattern (`users.*`, `>`); default every key. */
  key?: string;
  /** Deliver the current value of every matching key first (default true), then changes. */
  initial?: boolean;
}

export interface KvWatch {
  /** Resolves once the initial values have been delivered (immediately when `initial` is false). */
  readonly ready: Promise<void>;
  stop(): void;
}

export interface KvBucket {
  readonly name: string;
  get(key: string): Promise<KvEntry | null>;
  /** Writes unconditionally; returns the new revision. */
  put(key: string, value: Uint8Array): Promise<number>;
  /** Writes only if the key has no live value; throws {@link KvConflictError} otherwise. */
  create(key: string, value: Uint8Array): Promise<number>;
  /** Compare-and-set: writes only if the key's revision is still `expectedRevision`; throws {@link KvConflictError} otherwise. */
  update(key: string, value: Uint8Array, expectedRevision: number): Promise<number>;
  /** Removes the key (a no-op when absent). */
  delete(key: string): Promise<void>;
  /** Live keys, optionally filtered by a wildcard pattern. */
  keys(filter?: string): Promise<string[]>;
  watch(handler: (change: KvChange) => void, options?: KvWatchOptions): KvWatch;
}

export interface Bus {
  /** Fire-and-forget. Never throws for transport problems; messages published while disconnected are buffered or dropped per adapter. */
  publish(subject: string, data: Uint8Array, headers?: Record<string, string>): void;
  /**
   * Subscribes to a subject or wildcard pattern (`*` one token, `>` the rest). A handler that throws or
   * rejects is reported through `onHandlerError` and never stops the subscription.
   */
  subscribe(subject: string, handler: MessageHandler, options?: SubscribeOptions): Subscription;
  /** Sends a request and waits for the first reply; throws {@link NoRespondersError} or {@link RequestTimeoutError}. */
  request(subject: string, data: Uint8Array, options?: RequestOptions): Promise<BusMessage>;
  /** Opens (creating when needed) a KV bucket. */
  kv(bucket: string, options?: KvBucketOptions): Promise<KvBucket>;
  state(): BusState;
  /** Calls `listener` on every state change; returns a function that removes it. */
  onStateChange(listener: (state: BusState) => void): () => void;
  /** Flushes pending publishes to the transport. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** Where handler failures go; the adapters log them by default. */
export type HandlerErrorReporter = (error: unknown, subject: string) => void;

export class KvConflictError extends Error {
  override readonly name = 'KvConflictError';
  readonly code = 'BRIX_KV_CONFLICT';
  constructor(
    readonly bucket: string,
    readonly key: string,
    options?: { cause?: unknown },
  ) {
    super(`kv ${bucket}/${key}: revision conflict (the key changed since it was read, or already exists)`, options);
  }
}

export class NoRespondersError extends Error {
  override readonly name = 'NoRespondersError';
  readonly code = 'BRIX_NO_RESPONDERS';
  constructor(
    readonly subject: string,
    options?: { cause?: unknown },
  ) {
    super(`no responders for request on ${subject}`, options);
  }
}

export class RequestTimeoutError extends Error {
  override readonly name = 'RequestTimeoutError';
  readonly code = 'BRIX_REQUEST_TIMEOUT';
  constructor(
    readonly subject: string,
    readonly timeoutMs: number,
    options?: { cause?: unknown },
  ) {
    super(`request on ${subject} got no reply within ${timeoutMs} ms`, options);
  }
}

export class BusClosedError extends Error {
  override readonly name = 'BusClosedError';
  readonly code = 'BRIX_BUS_CLOSED';
  constructor() {
    super('the bus is closed');
  }
}

/** KV keys follow NATS subject rules: tokens of [A-Za-z0-9_=/-] separated by dots. */
const KEY = /^[-/_=A-Za-z0-9]+(\.[-/_=A-Za-z0-9]+)*$/;
export function assertValidKey(key: string): void {
  if (!KEY.test(key)) throw new RangeError(`invalid kv key "${key}": use tokens of [A-Za-z0-9_=/-] separated by dots`);
}
