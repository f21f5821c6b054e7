/**
 * The Clock port: time and timers, injected into every piece of logic that waits or measures, so the
 * same code runs live (WallClock) and in a discrete-event simulation (VirtualClock).
 * Times are milliseconds. WallClock.now() is epoch ms; a VirtualClock starts where it is told.
 */
export interface Clock {
  now(): number;
  /** Runs `fn` once after `ms` milliseconds (0 = after the current work). */
  setTimer(ms: number, fn: () => void): TimerHandle;
  clearTimer(handle: TimerHandle): void;
  /** Resolves after `ms` milliseconds of this clock's time. */
  sleep(ms: number): Promise<void>;
}

/** Opaque; only the clock that issued it understands it. */
export type TimerHandle = { readonly __timer: unique symbol };

export class WallClock implements Clock {
  now(): number {
    return Date.now();
  }

  setTimer(ms: number, fn: () => void): TimerHandle {
    const t = setTimeout(fn, Math.max(0, ms));
    // A pending timer must not keep a process alive that has nothing else to do.
    t.unref?.();
    return t as unknown as TimerHandle;
  }

  clearTimer(handle: TimerHandle): void {
    clearTimeout(handle as unknown as NodeJS.Timeout);
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
  }
}

interface Scheduled {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/**
 * A discrete-event clock: timers fire in time order (ties in scheduling order) only when the owner
 * advances time, so a simulation of hours runs in as long as its events take to compute, and the
 * same seed gives the same run.
 */
export class VirtualClock implements Clock {
  private current: number;
  private seq = 0;
  private readonly heap: Scheduled[] = [];

  constructor(startMs = 0) {
    this.current = startMs;
  }

  now(): number {
    return this.current;
  }

  setTimer(ms: number, fn: () => void): TimerHandle {
    const item: Scheduled = { at: this.current + Math.max(0, ms), seq: this.seq++, fn, cancelled: false };
    this.push(item);
    return item as unknown as TimerHandle;
  }

  clearTimer(handle: TimerHandle): void {
    (handle as unknown as Scheduled).cancelled = true;
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.setTimer(ms, resolve));
  }

  /** Number of timers still scheduled (cancelled ones may be counted until they surface). */
  get pending(): number {
    return this.heap.length;
  }

  /** Time of the next timer, or undefined when none is scheduled. */
  nextAt(): number | undefined {
    this.dropCancelled();
    return this.heap[0]?.at;
  }

  /**
   * Fires, in order, every timer due at or before `t`, then sets the time to `t`.
   * Timers scheduled by fired timers run too when they fall within `t`. Returns how many fired.
   */
  runUntil(t: number): number {
    let fired = 0;
    for (;;) {
      this.dropCancelled();
      const next = this.heap[0];
      if (!next || next.at > t) break;
      this.pop();
      this.current = next.at;
      fired++;
      next.fn();
    }
    if (t > this.current) this.current = t;
    return fired;
  }

  /** Advances by `ms`, firing due timers. */
  advance(ms: number): number {
    return this.runUntil(this.current + ms);
  }

  /** Runs until no timer is left, or until `limit` timers fired (a guard against endless loops). */
  runAll(limit = 100_000_000): number {
    let fired = 0;
    for (;;) {
      const at = this.nextAt();
      if (at === undefined) return fired;
      fired += this.runUntil(at);
      if (fired >= limit)
        throw new Error(`VirtualClock.runAll: more than ${limit} timers fired; is something rescheduling forever?`);
    }
  }

  private dropCancelled(): void {
    while (this.heap.length > 0 && this.heap[0]!.cancelled) this.pop();
  }

  // Sift with a hole (no swaps) and the (at, seq) order inlined: timers are the simulation's innermost loop.
  private push(item: Scheduled): void {
    const h = this.heap;
    let i = h.length;
    h.push(item);
    const at = item.at;
    const seq = item.seq;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = h[parent]!;
      if (p.at < at || (p.at === at && p.seq < seq)) break;
      h[i] = p;
      i = parent;
    }
    h[i] = item;
  }

  private pop(): Scheduled | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    const n = h.length;
    if (n > 0 && last) {
      const at = last.at;
      const seq = last.seq;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        let m = l;
        let c = h[l]!;
        const r = l + 1;
        if (r < n) {
          const rc = h[r]!;
          if (rc.at < c.at || (rc.at === c.at && rc.seq < c.seq)) {
            m = r;
            c = rc;
          }
        }
        if (at < c.at || (at === c.at && seq < c.seq)) break;
        h[i] = c;
        i = m;
      }
      h[i] = last;
    }
    return top;
  }
}
