import { type Clock, type TimerHandle } from '@brix/clock';

/** The wall-time primitives a {@link ScaledClock} runs on (injected so tests can drive them). */
export interface WallTimers {
  /** Epoch ms. */
  now(): number;
  /** Runs `fn` after `ms` of real time; the handle is only passed back to `cancel`. */
  schedule(ms: number, fn: () => void): unknown;
  /** Runs `fn` after pending I/O (used when no real time should pass). */
  immediate(fn: () => void): unknown;
  cancel(handle: unknown): void;
}

/**
 * Node's timers. Timeouts are unref'd: a pending simulated step never keeps a process alive on its own.
 * Immediates stay ref'd: an unref'd immediate does not stop the event loop from blocking in its poll phase,
 * so it would wait for unrelated I/O or timers before it runs.
 */
export const nodeWallTimers: WallTimers = {
  now: () => Date.now(),
  schedule: (ms, fn) => setTimeout(fn, Math.max(0, ms)).unref(),
  immediate: (fn) => setImmediate(fn),
  cancel: (h) => {
    clearTimeout(h as NodeJS.Timeout);
    clearImmediate(h as NodeJS.Immediate);
  },
};

interface Entry {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/**
 * A clock whose time runs `scale` times slower than wall time (scale 1: real time; 0.1: ten times faster;
 * 0: no real time passes at all), and which can be paused.
 *
 * Simulated time is in ms and starts at the wall clock's epoch ms, so at scale 1 it reads like a wall clock.
 * Timers live in one heap on simulated time and fire in time order (ties in scheduling order); one real
 * timer is armed for the earliest. At scale 0 each due time point runs in its own macrotask, so sockets
 * are served between simulated steps while the simulation runs as fast as the CPU allows.
 *
 * Paused, simulated time stands still and no timer fires; on resume it continues from where it stopped,
 * so whatever runs on this clock (the engine model) does not see the pause at all — callers in wall time
 * (HTTP clients) see everything stall.
 */
export class ScaledClock implements Clock {
  private readonly heap: Entry[] = [];
  private seq = 0;
  private armed: unknown = null;
  private scaleValue: number;
  /** Simulated time at the anchor, ms. */
  private anchorSim: number;
  /** Wall time at the anchor, ms. */
  private anchorWall: number;
  /** Time of the latest timer fired: simulated time never reads earlier (matters at scale 0). */
  private cursor: number;
  private pausedAt: number | null = null;

  constructor(
    scale: number,
    private readonly wall: WallTimers = nodeWallTimers,
  ) {
    ScaledClock.check(scale);
    this.scaleValue = scale;
    this.anchorWall = wall.now();
    this.anchorSim = this.anchorWall;
    this.cursor = this.anchorSim;
  }

  private static check(scale: number): void {
    if (!Number.isFinite(scale) || scale < 0) throw new RangeError(`time scale must be a finite number ≥ 0, got ${scale}`);
  }

  /** Wall seconds per simulated second. */
  get scale(): number {
    return this.scaleValue;
  }

  get paused(): boolean {
    return this.pausedAt !== null;
  }

  /** Changes the speed from now on; simulated time stays continuous. */
  setScale(scale: number): void {
    ScaledClock.check(scale);
    this.reanchor();
    this.scaleValue = scale;
    this.rearm();
  }

  /** Stops simulated time and every timer (idempotent). */
  pause(): void {
    if (this.pausedAt !== null) return;
    this.pausedAt = this.now();
    this.disarm();
  }

  /** Lets simulated time run again from where it stopped (idempotent). */
  resume(): void {
    if (this.pausedAt === null) return;
    this.anchorSim = this.pausedAt;
    this.anchorWall = this.wall.now();
    this.cursor = Math.max(this.cursor, this.pausedAt);
    this.pausedAt = null;
    this.rearm();
  }

  now(): number {
    if (this.pausedAt !== null) return this.pausedAt;
    if (this.scaleValue === 0) return this.cursor;
    return Math.max(this.cursor, this.anchorSim + (this.wall.now() - this.anchorWall) / this.scaleValue);
  }

  setTimer(ms: number, fn: () => void): TimerHandle {
    const entry: Entry = { at: this.now() + Math.max(0, ms), seq: this.seq++, fn, cancelled: false };
    this.push(entry);
    if (this.heap[0] === entry) this.rearm();
    return entry as unknown as TimerHandle;
  }

  clearTimer(handle: TimerHandle): void {
    (handle as unknown as Entry).cancelled = true;
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.setTimer(ms, resolve));
  }

  /** Timers not fired yet (cancelled ones may count until they surface). */
  get pending(): number {
    return this.heap.length;
  }

  private reanchor(): void {
    const t = this.now();
    this.anchorSim = t;
    this.anchorWall = this.wall.now();
    this.cursor = t;
  }

  private disarm(): void {
    if (this.armed !== null) this.wall.cancel(this.armed);
    this.armed = null;
  }

  /** Arms the one real timer for the earliest simulated deadline. */
  private rearm(): void {
    this.disarm();
    if (this.pausedAt !== null) return;
    this.dropCancelled();
    const next = this.heap[0];
    if (!next) return;
    if (this.scaleValue === 0) {
      this.armed = this.wall.immediate(() => this.fireNextPoint());
      return;
    }
    // Rounded up: a timer that fires early only costs a wasted wake-up, but rounding down would spin.
    const delayMs = Math.max(0, Math.ceil((next.at - this.now()) * this.scaleValue));
    this.armed = this.wall.schedule(delayMs, () => this.fireDue());
  }

  /** Scale > 0: fires every timer due by now (in order, including ones they schedule), then re-arms. */
  private fireDue(): void {
    this.armed = null;
    for (;;) {
      if (this.pausedAt !== null) return;
      this.dropCancelled();
      const next = this.heap[0];
      if (!next || next.at > this.now()) break;
      this.pop();
      this.cursor = Math.max(this.cursor, next.at);
      next.fn();
    }
    this.rearm();
  }

  /** Scale 0: advances simulated time to the earliest timer and fires everything due then. */
  private fireNextPoint(): void {
    this.armed = null;
    this.dropCancelled();
    const first = this.heap[0];
    if (first && this.pausedAt === null) {
      const t = Math.max(this.cursor, first.at);
      this.cursor = t;
      for (;;) {
        if (this.pausedAt !== null) return;
        this.dropCancelled();
        const next = this.heap[0];
        if (!next || next.at > t) break;
        this.pop();
        next.fn();
      }
    }
    this.rearm();
  }

  private dropCancelled(): void {
    while (this.heap.length > 0 && this.heap[0]!.cancelled) this.pop();
  }

  private less(a: Entry, b: Entry): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  private push(e: Entry): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private pop(): Entry | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}
