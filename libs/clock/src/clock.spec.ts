import { VirtualClock, WallClock } from './clock';
import { Rng } from './rng';

describe('VirtualClock', () => {
  it('fires timers in time order, ties in scheduling order, only when advanced', () => {
    const clock = new VirtualClock(1000);
    const fired: string[] = [];
    clock.setTimer(30, () => fired.push('c@1030'));
    clock.setTimer(10, () => fired.push('a@1010'));
    clock.setTimer(10, () => fired.push('b@1010 (scheduled after a)'));
    expect(fired).toEqual([]);
    expect(clock.advance(10)).toBe(2);
    expect(clock.now()).toBe(1010);
    clock.runAll();
    expect(fired).toEqual(['a@1010', 'b@1010 (scheduled after a)', 'c@1030']);
    expect(clock.now()).toBe(1030);
  });

  it('sets now() to each timer time while it runs, and runs timers that timers schedule', () => {
    const clock = new VirtualClock();
    const seen: number[] = [];
    clock.setTimer(5, () => {
      seen.push(clock.now());
      clock.setTimer(5, () => seen.push(clock.now()));
    });
    clock.runUntil(100);
    expect(seen).toEqual([5, 10]);
    expect(clock.now()).toBe(100);
  });

  it('skips cancelled timers', () => {
    const clock = new VirtualClock();
    const fired: number[] = [];
    const h = clock.setTimer(1, () => fired.push(1));
    clock.setTimer(2, () => fired.push(2));
    clock.clearTimer(h);
    clock.runAll();
    expect(fired).toEqual([2]);
  });

  it('resolves sleep() in virtual time', async () => {
    const clock = new VirtualClock();
    let done = false;
    const p = clock.sleep(1_000_000).then(() => (done = true));
    clock.advance(999_999);
    await Promise.resolve();
    expect(done).toBe(false);
    clock.advance(1);
    await p;
    expect(done).toBe(true);
  });

  it('keeps heap order over many random timers', () => {
    const clock = new VirtualClock();
    const rng = new Rng(7);
    const fired: number[] = [];
    for (let i = 0; i < 2000; i++) {
      const at = rng.int(0, 500);
      clock.setTimer(at, () => fired.push(at));
    }
    clock.runAll();
    expect(fired).toHaveLength(2000);
    expect([...fired].sort((a, b) => a - b)).toEqual(fired);
  });

  it('stops a runaway simulation with a clear error', () => {
    const clock = new VirtualClock();
    const again = () => clock.setTimer(1, again);
    again();
    expect(() => clock.runAll(1000)).toThrow(/rescheduling forever/);
  });
});

describe('WallClock', () => {
  it('fires timers in real time', async () => {
    const clock = new WallClock();
    const start = clock.now();
    await new Promise<void>((resolve) => clock.setTimer(20, resolve));
    expect(clock.now() - start).toBeGreaterThanOrEqual(15);
  });
});

describe('Rng', () => {
  it('repeats its sequence for a seed and differs across seeds', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const c = new Rng(43);
    const sa = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(sa);
    expect(Array.from({ length: 5 }, () => c.next())).not.toEqual(sa);
  });

  it('draws exponentials with the requested mean (±3% over 50k draws)', () => {
    const rng = new Rng(1);
    let sum = 0;
    for (let i = 0; i < 50_000; i++) sum += rng.exponential(250);
    expect(sum / 50_000).toBeGreaterThan(250 * 0.97);
    expect(sum / 50_000).toBeLessThan(250 * 1.03);
  });

  it('draws integers within bounds, inclusive', () => {
    const rng = new Rng(3);
    const seen = new Set<number>();
    for (let i = 0; i < 1000; i++) seen.add(rng.int(2, 4));
    expect([...seen].sort()).toEqual([2, 3, 4]);
  });
});
