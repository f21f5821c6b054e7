import { randomBytes } from 'node:crypto';
import { type KvBucket, KvConflictError } from '@brix/bus';
import { type Clock, type TimerHandle } from '@brix/clock';
import { type Logger } from '@brix/observability';
import { Compile } from 'typebox/compile';
import { CounterValue } from '../schemas';
import {
  addAll,
  addAt,
  cloneCounts,
  dropExpired,
  msUntilDrained,
  msUntilFits,
  prune,
  type SlotCounts,
  slotOf,
  subtractAll,
  type WindowShape,
  windowUsage,
} from '../window/window';

/** What to do when the shared counter cannot be reached. */
export type FailMode = 'open' | 'closed';

/** A request needs more than the window has left in one dimension. */
export class LimitExceededError extends Error {
  override readonly name = 'LimitExceededError';
  constructor(
    readonly dim: number,
    readonly limit: number,
    readonly used: number,
    readonly need: number,
    /** Milliseconds until it would fit; undefined when it never can (`need > limit`). */
    readonly retryAfterMs: number | undefined,
  ) {
    super(`dimension ${dim}: need ${need}, used ${used} of ${limit}`);
  }
}

/** The shared counter is unreachable and the fail mode is `closed`. */
export class CounterUnavailableError extends Error {
  override readonly name = 'CounterUnavailableError';
  constructor(options?: { cause?: unknown }) {
    super('the shared rate-limit counter is unreachable', options);
  }
}

/** A granted reservation; hand it back to {@link LeasedCounter.adjust} when the real usage is known. */
export interface Reservation {
  readonly key: string;
  /** The slot the reservation was charged to. */
  readonly slot: number;
  /** Reserved amount per dimension (0 in dimensions that are not limited). */
  readonly amounts: readonly number[];
  /** Which dimensions were limited (only those are counted and adjusted). */
  readonly limited: readonly boolean[];
}

/** Where the counter stands for one key, as this replica sees it. */
export interface CounterStatus {
  /** Per dimension: what is left to admit in the window (≥ 0), counting this replica's own lease. */
  remaining: number[];
  /** Per dimension: ms until everything counted has expired. */
  resetMs: number[];
}

export type CounterEvent =
  | { type: 'lease'; key: string; granted: readonly number[] }
  | { type: 'write'; result: 'ok' | 'conflict' | 'error' }
  | { type: 'offline-admit' }
  | { type: 'offline-refuse' };

export interface LeasedCounterOptions {
  bucket: KvBucket;
  /** Number of dimensions counted per key (e.g. 2: requests and tokens). */
  dims: number;
  shape: WindowShape;
  /** Share of a dimension's limit a replica leases at once beyond what the request needs (0 < f ≤ 1). */
  leaseFraction: number;
  /** A lease not used for this long (ms) is returned to the shared counter. */
  leaseIdleMs: number;
  /** Longest wait (ms) for one KV operation before the counter counts as unreachable. */
  kvTimeoutMs: number;
  failMode: FailMode;
  clock: Clock;
  /** Whether the bus is connected now; when not, the counter does not try the network. */
  connected: () => boolean;
  logger: Logger;
  onEvent?: (event: CounterEvent) => void;
  /** Interval (ms) of the background sweep that returns idle and expired leases and retries failed writes (default: half the shorter of leaseIdleMs and a slot). */
  sweepMs?: number;
  /** Delay (ms) that coalesces refunds and returned leases into one write per key (default 5). */
  flushDelayMs?: number;
}

interface Lease {
  slot: number;
  avail: number[];
}

interface Shared {
  slots: SlotCounts;
  /** Last write of each replica: id → [sequence, epoch ms]. */
  marks: Map<string, [number, number]>;
  revision: number;
}

/** A write whose outcome is unknown (it timed out or the connection broke mid-way). */
interface InDoubt {
  seq: number;
  sent: SlotCounts;
  /** Budget the write would have leased, at `slot`; returned if the write turns out to have landed. */
  grant?: { slot: number; amounts: number[] };
}

interface KeyState {
  readonly key: string;
  /** The last value read from or written to the bucket; undefined = never read. */
  shared: Shared | undefined;
  /** `shared` may be out of date and must be read again before the next write (a conflict or a failed write). */
  stale: boolean;
  inDoubt: InDoubt | undefined;
  /** Budget taken from the shared counter in `lease.slot` and not yet handed to a request. */
  lease: Lease | undefined;
  /** Changes made here and not yet written (refunds, returned leases, usage above a reservation). */
  pending: SlotCounts;
  /** Serialises this key's network work. */
  tail: Promise<unknown>;
  lastUsed: number;
  dirty: boolean;
}

const MAX_ATTEMPTS = 16;
const checkValue = Compile(CounterValue);
const encoder = new TextEncoder();
const decoder = new TextDecoder();

class KvTimeoutError extends Error {
  override readonly name = 'KvTimeoutError';
}

/**
 * A sliding-window counter shared by every gateway replica through one KV bucket, with local leases so that
 * most requests are decided without a network round trip.
 *
 * Each key (a user, a model) holds per-slot counts in one KV value, changed only by compare-and-set. A
 * replica that needs budget *leases* it: one CAS adds the request's need plus a slice (`leaseFraction` of
 * the limit, at most half of what is left) to the current slot. Later requests on that replica take from
 * the lease in memory. A lease lives until the end of its slot or until it has been idle `leaseIdleMs`;
 * then its unused part is subtracted again. Leased budget is counted in the shared value from the moment
 * it is leased, so leasing can refuse a request early (budget sits in another replica's lease) but never
 * admits more than the limit.
 */
export class LeasedCounter {
  private readonly keys = new Map<string, KeyState>();
  private sweepHandle: TimerHandle | undefined;
  private flushScheduled = false;
  private closed = false;
  private readonly zero: number[];
  /** Identifies this replica's writes in the shared values. */
  private readonly replicaId = randomBytes(6).toString('hex');
  private seq = 0;
  /**
   * After a KV operation fails or times out, requests skip the network until this time (epoch ms), so that
   * requests queued behind a hanging operation do not each wait out the timeout in turn.
   */
  private unreachableUntil = 0;

  constructor(private readonly o: LeasedCounterOptions) {
    this.zero = new Array<number>(o.dims).fill(0);
    this.scheduleSweep();
  }

  /**
   * Reserves `need` (per dimension) for `key` under `limits` (0 = not limited). Answers synchronously when
   * the local lease covers it, otherwise after a CAS round trip. Throws {@link LimitExceededError} or, when
   * the counter is unreachable in fail-closed mode, {@link CounterUnavailableError}.
   */
  reserve(key: string, limits: readonly number[], need: readonly number[]): Reservation | Promise<Reservation> {
    const limited = limits.map((l) => l > 0);
    const amounts = need.map((n, d) => (limited[d] ? Math.max(0, n) : 0));
    const now = this.o.clock.now();
    const current = slotOf(now, this.o.shape);
    if (!limited.some(Boolean)) return { key, slot: current, amounts, limited };
    for (let d = 0; d < amounts.length; d++) {
      // Never admissible, however long the client waits.
      if (limited[d] && amounts[d]! > limits[d]!) throw new LimitExceededError(d, limits[d]!, 0, amounts[d]!, undefined);
    }
    const st = this.state(key);
    st.lastUsed = now;
    this.rollLease(st, current);
    if (this.takeFromLease(st, current, amounts)) return { key, slot: current, amounts, limited };
    return this.enqueue(st, () => this.acquire(st, limits, amounts, limited));
  }

  /**
   * Corrects a reservation by `delta` per dimension: negative gives budget back (a failed request, or one
   * that used less than reserved), positive charges usage beyond the reservation to the current slot.
   */
  adjust(reservation: Reservation, delta: readonly number[]): void {
    if (!reservation.limited.some(Boolean)) return;
    const now = this.o.clock.now();
    const current = slotOf(now, this.o.shape);
    const st = this.state(reservation.key);
    this.rollLease(st, current);
    const oldest = current - this.o.shape.slots;
    let changed = false;
    for (let d = 0; d < this.o.dims; d++) {
      const v = delta[d] ?? 0;
      if (v === 0 || !reservation.limited[d]) continue;
      if (v < 0) {
        // Refunding a charge that has already left the window changes nothing.
        if (reservation.slot < oldest) continue;
        if (st.lease && st.lease.slot === reservation.slot) {
          // Same slot as the live lease: the budget can serve this replica's next request at once.
          st.lease.avail[d]! -= v;
        } else {
          this.addPending(st, reservation.slot, d, v);
          changed = true;
        }
      } else {
        let rest = v;
        if (st.lease && st.lease.slot === current) {
          const take = Math.min(st.lease.avail[d]!, rest);
          st.lease.avail[d]! -= take;
          rest -= take;
        }
        if (rest > 0) {
          this.addPending(st, current, d, rest);
          changed = true;
        }
      }
    }
    if (changed) this.markDirty(st);
  }

  /** Remaining budget and reset times of `key` as this replica knows them (no network). */
  status(key: string, limits: readonly number[]): CounterStatus {
    const now = this.o.clock.now();
    const current = slotOf(now, this.o.shape);
    const st = this.keys.get(key);
    const remaining: number[] = [];
    const resetMs: number[] = [];
    for (let d = 0; d < this.o.dims; d++) {
      const limit = limits[d] ?? 0;
      if (!st) {
        remaining.push(limit);
        resetMs.push(0);
        continue;
      }
      const used = windowUsage(d, current, this.o.shape, st.shared?.slots, st.pending);
      const own = st.lease && st.lease.slot === current ? st.lease.avail[d]! : 0;
      remaining.push(Math.max(0, Math.min(limit, limit - used + own)));
      resetMs.push(msUntilDrained(d, now, this.o.shape, st.shared?.slots, st.pending));
    }
    return { remaining, resetMs };
  }

  /** Returns every lease, writes what is pending (each write bounded by the KV timeout) and stops the sweep. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.sweepHandle) this.o.clock.clearTimer(this.sweepHandle);
    const work: Promise<unknown>[] = [];
    for (const st of this.keys.values()) {
      this.returnLease(st);
      if (st.pending.size > 0 && this.o.connected()) work.push(this.enqueue(st, () => this.push(st)).catch(() => undefined));
    }
    await Promise.all(work);
  }

  /** How many keys this replica tracks now (for tests and debugging). */
  trackedKeys(): number {
    return this.keys.size;
  }

  // ---- local bookkeeping ----

  private state(key: string): KeyState {
    let st = this.keys.get(key);
    if (!st) {
      st = {
        key,
        shared: undefined,
        stale: false,
        inDoubt: undefined,
        lease: undefined,
        pending: new Map(),
        tail: Promise.resolve(),
        lastUsed: this.o.clock.now(),
        dirty: false,
      };
      this.keys.set(key, st);
    }
    return st;
  }

  /** A lease belongs to one slot: once that slot is over, what is left of it goes back. */
  private rollLease(st: KeyState, current: number): void {
    if (st.lease && st.lease.slot !== current) this.returnLease(st);
  }

  private returnLease(st: KeyState): void {
    const lease = st.lease;
    if (!lease) return;
    st.lease = undefined;
    if (lease.avail.some((v) => v !== 0)) {
      addAt(
        st.pending,
        lease.slot,
        lease.avail.map((v) => -v),
      );
      this.markDirty(st);
    }
  }

  private takeFromLease(st: KeyState, current: number, amounts: readonly number[]): boolean {
    const lease = st.lease;
    if (!lease || lease.slot !== current) return false;
    for (let d = 0; d < amounts.length; d++) if (lease.avail[d]! < amounts[d]!) return false;
    for (let d = 0; d < amounts.length; d++) lease.avail[d]! -= amounts[d]!;
    return true;
  }

  private addPending(st: KeyState, slot: number, dim: number, value: number): void {
    const row = [...this.zero];
    row[dim] = value;
    addAt(st.pending, slot, row);
  }

  // ---- network work, serialised per key ----

  private enqueue<T>(st: KeyState, fn: () => Promise<T>): Promise<T> {
    const run = st.tail.then(fn, fn);
    st.tail = run.catch(() => undefined);
    return run;
  }

  private async acquire(st: KeyState, limits: readonly number[], amounts: number[], limited: boolean[]): Promise<Reservation> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const now = this.o.clock.now();
      const current = slotOf(now, this.o.shape);
      this.rollLease(st, current);
      // An acquisition queued before this one may have left enough in the lease.
      if (this.takeFromLease(st, current, amounts)) return { key: st.key, slot: current, amounts, limited };
      if (!this.o.connected() || now < this.unreachableUntil) return this.offline(st, limits, amounts, limited, now);
      let want: number[] | undefined;
      let sent: SlotCounts | undefined;
      let seq = 0;
      try {
        if (!st.shared || st.stale) await this.read(st);
        const base = st.shared!;
        sent = cloneCounts(st.pending);
        const next = cloneCounts(base.slots);
        addAll(next, sent);
        prune(next, current, this.o.shape);
        const have = st.lease && st.lease.slot === current ? st.lease.avail : this.zero;
        want = [...this.zero];
        for (let d = 0; d < this.o.dims; d++) {
          if (!limited[d]) continue;
          const limit = limits[d]!;
          const used = windowUsage(d, current, this.o.shape, next);
          const short = Math.max(0, amounts[d]! - have[d]!);
          const free = limit - used;
          if (free < short) {
            if (st.pending.size > 0) this.markDirty(st);
            // `used` reported without this replica's own unused lease, which the request could have had.
            const wait = msUntilFits(d, limit, short, now, this.o.shape, next);
            throw new LimitExceededError(d, limit, used - have[d]!, amounts[d]!, wait);
          }
          const slice = Math.max(1, Math.ceil(limit * this.o.leaseFraction));
          // At most half of what would be left, so other replicas still find budget near the limit.
          const extra = Math.max(0, Math.min(slice, Math.floor((free - short) / 2)));
          want[d] = short + extra;
        }
        addAt(next, current, want);
        seq = ++this.seq;
        const revision = await this.write(st.key, next, base, seq);
        this.o.onEvent?.({ type: 'write', result: 'ok' });
        this.o.onEvent?.({ type: 'lease', key: st.key, granted: want });
        this.unreachableUntil = 0;
        st.shared = { slots: next, marks: this.marksAfter(base, seq), revision };
        subtractAll(st.pending, sent);
        dropExpired(st.pending, current, this.o.shape);
        // Requests served from the lease during the write may have used what `have` counted: add, then take.
        if (st.lease && st.lease.slot === current) for (let d = 0; d < this.o.dims; d++) st.lease.avail[d]! += want[d]!;
        else {
          this.returnLease(st);
          st.lease = { slot: current, avail: want };
        }
        if (this.takeFromLease(st, current, amounts)) return { key: st.key, slot: current, amounts, limited };
      } catch (err) {
        if (err instanceof LimitExceededError) throw err;
        if (err instanceof KvConflictError) {
          this.o.onEvent?.({ type: 'write', result: 'conflict' });
          st.stale = true;
          continue;
        }
        this.o.onEvent?.({ type: 'write', result: 'error' });
        st.stale = true;
        this.unreachableUntil = this.o.clock.now() + this.o.kvTimeoutMs;
        if (seq > 0 && sent)
          st.inDoubt = { seq, sent, grant: want ? { slot: slotOf(now, this.o.shape), amounts: want } : undefined };
        this.o.logger.warn({ err: (err as Error).message, counterKey: st.key }, 'rate-limit counter unreachable');
        return this.offline(st, limits, amounts, limited, this.o.clock.now());
      }
    }
    // Losing this many CAS races means heavy contention on one key; decide from what this replica knows.
    return this.offline(st, limits, amounts, limited, this.o.clock.now());
  }

  /**
   * The shared counter cannot be reached. Fail-closed refuses; fail-open enforces the limit locally from the
   * last known shared value plus this replica's own changes, which are written once the bucket answers again.
   */
  private offline(st: KeyState, limits: readonly number[], amounts: number[], limited: boolean[], now: number): Reservation {
    if (this.o.failMode === 'closed') {
      this.o.onEvent?.({ type: 'offline-refuse' });
      throw new CounterUnavailableError();
    }
    const current = slotOf(now, this.o.shape);
    const have = st.lease && st.lease.slot === current ? st.lease.avail : this.zero;
    for (let d = 0; d < this.o.dims; d++) {
      if (!limited[d]) continue;
      const used = windowUsage(d, current, this.o.shape, st.shared?.slots, st.pending);
      const short = Math.max(0, amounts[d]! - have[d]!);
      if (used + short > limits[d]!) {
        const wait = msUntilFits(d, limits[d]!, short, now, this.o.shape, st.shared?.slots, st.pending);
        throw new LimitExceededError(d, limits[d]!, used - have[d]!, amounts[d]!, wait);
      }
    }
    for (let d = 0; d < this.o.dims; d++) {
      if (!limited[d]) continue;
      const fromLease = st.lease && st.lease.slot === current ? Math.min(st.lease.avail[d]!, amounts[d]!) : 0;
      if (fromLease > 0) st.lease!.avail[d]! -= fromLease;
      if (amounts[d]! - fromLease > 0) this.addPending(st, current, d, amounts[d]! - fromLease);
    }
    this.markDirty(st);
    this.o.onEvent?.({ type: 'offline-admit' });
    return { key: st.key, slot: current, amounts, limited };
  }

  /** Writes pending changes (refunds, returned leases, extra usage) with CAS. */
  private async push(st: KeyState): Promise<void> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      if (!this.o.connected()) return;
      const current = slotOf(this.o.clock.now(), this.o.shape);
      if (!st.shared || st.stale) await this.read(st);
      dropExpired(st.pending, current, this.o.shape);
      if (st.pending.size === 0) return;
      const base = st.shared!;
      const sent = cloneCounts(st.pending);
      const next = cloneCounts(base.slots);
      addAll(next, sent);
      prune(next, current, this.o.shape);
      const seq = ++this.seq;
      try {
        const revision = await this.write(st.key, next, base, seq);
        this.o.onEvent?.({ type: 'write', result: 'ok' });
        this.unreachableUntil = 0;
        st.shared = { slots: next, marks: this.marksAfter(base, seq), revision };
        subtractAll(st.pending, sent);
        dropExpired(st.pending, current, this.o.shape);
        return;
      } catch (err) {
        st.stale = true;
        if (err instanceof KvConflictError) {
          this.o.onEvent?.({ type: 'write', result: 'conflict' });
          continue;
        }
        this.o.onEvent?.({ type: 'write', result: 'error' });
        st.inDoubt = { seq, sent };
        throw err;
      }
    }
  }

  /** Reads the key's value; settles a write left in doubt by looking for its mark. */
  private async read(st: KeyState): Promise<void> {
    const entry = await this.timed(this.o.bucket.get(st.key));
    const decoded = entry ? this.decode(st.key, entry.value) : { slots: new Map(), marks: new Map() };
    const doubt = st.inDoubt;
    if (doubt) {
      st.inDoubt = undefined;
      const mark = decoded.marks.get(this.replicaId);
      if (mark && mark[0] >= doubt.seq) {
        // It landed: its changes are in the bucket, and the lease it took reached nobody, so give it back.
        subtractAll(st.pending, doubt.sent);
        if (doubt.grant)
          addAt(
            st.pending,
            doubt.grant.slot,
            doubt.grant.amounts.map((v) => -v),
          );
      }
    }
    st.shared = { slots: decoded.slots, marks: decoded.marks, revision: entry?.revision ?? 0 };
    st.stale = false;
  }

  private marksAfter(base: Shared, seq: number): Map<string, [number, number]> {
    const marks = new Map(base.marks);
    marks.set(this.replicaId, [seq, this.o.clock.now()]);
    return marks;
  }

  /** Creates the key when it has no value yet (revision 0), else updates it if unchanged since `base`. */
  private write(key: string, slots: SlotCounts, base: Shared, seq: number): Promise<number> {
    const now = this.o.clock.now();
    // Marks older than two windows are of no use: no write stays in doubt that long.
    const keepMarksMs = 2 * this.o.shape.slotMs * (this.o.shape.slots + 1);
    const w: [string, number, number][] = [[this.replicaId, seq, now]];
    for (const [id, [s, at]] of base.marks) if (id !== this.replicaId && now - at < keepMarksMs) w.push([id, s, at]);
    const s: number[][] = [];
    for (const [slot, row] of slots) s.push([slot, ...row]);
    const value: CounterValue = { v: 1, ms: this.o.shape.slotMs, s, w };
    const data = encoder.encode(JSON.stringify(value));
    return this.timed(base.revision === 0 ? this.o.bucket.create(key, data) : this.o.bucket.update(key, data, base.revision));
  }

  private decode(key: string, data: Uint8Array): { slots: SlotCounts; marks: Map<string, [number, number]> } {
    const slots: SlotCounts = new Map();
    const marks = new Map<string, [number, number]>();
    let value: unknown;
    try {
      value = JSON.parse(decoder.decode(data));
    } catch {
      value = undefined;
    }
    if (!checkValue.Check(value)) {
      this.o.logger.warn({ counterKey: key }, 'ignoring an undecodable rate-limit counter value');
      return { slots, marks };
    }
    for (const [rawSlot, ...counts] of value.s) {
      if (rawSlot === undefined) continue;
      // Written with another slot length (replicas configured differently): file each count under the slot
      // holding the end of its original slot, so that it expires no earlier than it should.
      const slot = value.ms === this.o.shape.slotMs ? rawSlot : Math.floor(((rawSlot + 1) * value.ms - 1) / this.o.shape.slotMs);
      const row = [...this.zero];
      for (let d = 0; d < this.o.dims; d++) row[d] = counts[d] ?? 0;
      addAt(slots, slot, row);
    }
    for (const [id, seq, at] of value.w ?? []) marks.set(id, [seq, at]);
    return { slots, marks };
  }

  private timed<T>(op: Promise<T>): Promise<T> {
    let handle: TimerHandle | undefined;
    const timeout = new Promise<never>((_, reject) => {
      handle = this.o.clock.setTimer(this.o.kvTimeoutMs, () =>
        reject(new KvTimeoutError(`no answer from the KV bucket within ${this.o.kvTimeoutMs} ms`)),
      );
    });
    op.catch(() => undefined);
    return Promise.race([op, timeout]).finally(() => {
      if (handle) this.o.clock.clearTimer(handle);
    });
  }

  // ---- background: coalesced writes and the sweep ----

  private markDirty(st: KeyState): void {
    st.dirty = true;
    if (this.flushScheduled || this.closed) return;
    this.flushScheduled = true;
    this.o.clock.setTimer(this.o.flushDelayMs ?? 5, () => {
      this.flushScheduled = false;
      this.flushDirty();
    });
  }

  private flushDirty(): void {
    if (!this.o.connected()) return;
    for (const st of this.keys.values()) {
      if (!st.dirty) continue;
      st.dirty = false;
      this.enqueue(st, () => this.push(st)).catch((err) => {
        st.dirty = true;
        this.o.logger.debug({ err: (err as Error).message, counterKey: st.key }, 'rate-limit counter write failed; will retry');
      });
    }
  }

  private scheduleSweep(): void {
    if (this.closed) return;
    // Often enough to notice both an idle lease and the end of a lease's slot within half their length.
    const every = this.o.sweepMs ?? Math.max(10, Math.floor(Math.min(this.o.leaseIdleMs, this.o.shape.slotMs) / 2));
    this.sweepHandle = this.o.clock.setTimer(every, () => {
      this.sweep();
      this.scheduleSweep();
    });
  }

  private sweep(): void {
    const now = this.o.clock.now();
    const current = slotOf(now, this.o.shape);
    const windowMs = this.o.shape.slotMs * (this.o.shape.slots + 1);
    for (const [key, st] of this.keys) {
      this.rollLease(st, current);
      if (st.lease && now - st.lastUsed >= this.o.leaseIdleMs) this.returnLease(st);
      dropExpired(st.pending, current, this.o.shape);
      if (st.pending.size > 0 || st.inDoubt) st.dirty = true;
      // Forget keys idle for a whole window: nothing local is left that the bucket does not hold.
      if (!st.lease && st.pending.size === 0 && !st.inDoubt && now - st.lastUsed > windowMs) this.keys.delete(key);
    }
    this.flushDirty();
  }
}
