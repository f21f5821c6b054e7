import { ScaledClock, type WallTimers } from './scaled-clock';

/** A hand-driven wall: time moves only when the test says, and due callbacks run then. */
class ManualWall implements WallTimers {
  t = 1_000_000;
  private timers: Array<{ at: number; fn: () => void; id: number }> = [];
  private immediates: Array<{ fn: () => void; id: number }> = [];
  private id = 0;
  now(): number {
    return this.t;
  }
  schedule(ms: number, fn: () => void): unknown {
    const id = ++this.id;
    this.timers.push({ at: this.t + ms, fn, id });
    return id;
  }
  immediate(fn: () => void): unknown {
    const id = ++this.id;
    this.immediates.push({ fn, id });
    return id;
  }
  cancel(handle: unknown): void {
    this.timers = this.timers.filter((x) => x.id !== handle);
    this.immediates = this.immediates.filter((x) => x.id !== handle);
  }
  /** Moves wall time forward, running due timers in time order. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at);
      const next = this.timers[0];
      if (!next || next.at > end) break;
      this.timers.shift();
      this.t = next.at;
      next.fn();
    }
    this.t = end;
  }
  /** Runs queued immediates (and those they queue), at most `limit`. */
  drain(limit = 1000): number {
    let n = 0;
    while (this.immediates.length > 0 && n < limit) {
      this.immediates.shift()!.fn();
      n++;
    }
    return n;
  }
}

describe('ScaledClock', () => {
  it.each([
    // scale 1: 100 simulated ms take 100 wall ms.
    { scale: 1, wallMs: 100, simMs: 100 },
    // scale 0.1: simulated time runs 10× faster, so 100 wall ms are 1000 simulated ms.
    { scale: 0.1, wallMs: 100, simMs: 1000 },
    // scale 2: half speed, 100 wall ms are 50 simulated ms.
    { scale: 2, wallMs: 100, simMs: 50 },
  ])('at scale $scale, $wallMs wall ms are $simMs simulated ms', ({ scale, wallMs, simMs }) => {
    const wall = new ManualWall();
    const clock = new ScaledClock(scale, wall);
    const start = clock.now();
    expect(start).toBe(wall.t); // simulated time starts at the wall's epoch ms
    wall.advance(wallMs);
    expect(clock.now() - start).toBeCloseTo(simMs, 6);
  });

  it('fires timers in simulated-time order after the scaled wall delay', () => {
    const wall = new ManualWall();
    const clock = new ScaledClock(0.5, wall);
    const fired: string[] = [];
    clock.setTimer(40, () => fired.push('b'));
    clock.setTimer(20, () => fired.push('a'));
    clock.setTimer(40, () => fired.push('c')); // same time as b: scheduling order
    wall.advance(9);
    expect(fired).toEqual([]); // 'a' is due at 20 simulated ms = 10 wall ms
    wall.advance(1);
    expect(fired).toEqual(['a']);
    wall.advance(10); // 40 simulated ms = 20 wall ms
    expect(fired).toEqual(['a', 'b', 'c']);
  });

  it('reads the due time inside a callback and schedules from it', () => {
    const wall = new ManualWall();
    const clock = new ScaledClock(1, wall);
    const t0 = clock.now();
    const seen: number[] = [];
    clock.setTimer(10, () => {
      seen.push(clock.now() - t0);
      clock.setTimer(5, () => seen.push(clock.now() - t0));
    });
    wall.advance(100);
    expect(seen).toEqual([10, 15]);
  });

  it('cancels timers', () => {
    const wall = new ManualWall();
    const clock = new ScaledClock(1, wall);
    const fired: number[] = [];
    const h = clock.setTimer(10, () => fired.push(1));
    clock.setTimer(20, () => fired.push(2));
    clock.clearTimer(h);
    wall.advance(30);
    expect(fired).toEqual([2]);
  });

  it('at scale 0 runs timers without wall time passing, one time point per macrotask', () => {
    const wall = new ManualWall();
    const clock = new ScaledClock(0, wall);
    const t0 = clock.now();
    const seen: Array<[string, number]> = [];
    clock.setTimer(30, () => seen.push(['late', clock.now() - t0]));
    clock.setTimer(10, () => {
      seen.push(['early', clock.now() - t0]);
      clock.setTimer(10, () => seen.push(['chained', clock.now() - t0]));
    });
    // Three distinct time points (10, 20, 30): three macrotasks, no wall time.
    expect(wall.drain()).toBe(3);
    expect(seen).toEqual([
      ['early', 10],
      ['chained', 20],
      ['late', 30],
    ]);
    expect(wall.t).toBe(1_000_000);
  });

  it('pauses: simulated time stands still, nothing fires, and it resumes where it stopped', () => {
    const wall = new ManualWall();
    const clock = new ScaledClock(1, wall);
    const t0 = clock.now();
    const fired: number[] = [];
    clock.setTimer(50, () => fired.push(clock.now() - t0));
    wall.advance(20);
    clock.pause();
    expect(clock.paused).toBe(true);
    wall.advance(1000);
    expect(clock.now() - t0).toBe(20);
    expect(fired).toEqual([]);
    clock.resume();
    wall.advance(29);
    expect(fired).toEqual([]); // 30 more simulated ms are needed after the pause
    wall.advance(1);
    expect(fired).toEqual([50]);
  });

  it('changes speed without a jump in simulated time', () => {
    const wall = new ManualWall();
    const clock = new ScaledClock(1, wall);
    const t0 = clock.now();
    const fired: number[] = [];
    clock.setTimer(100, () => fired.push(wall.t - 1_000_000));
    wall.advance(50);
    clock.setScale(0.1); // the remaining 50 simulated ms now take 5 wall ms
    expect(clock.now() - t0).toBe(50);
    wall.advance(5);
    expect(fired).toEqual([55]);
  });

  it('refuses a negative scale', () => {
    expect(() => new ScaledClock(-1, new ManualWall())).toThrow(RangeError);
  });
});
