import { Rng } from '@brix/clock';
import { WorkloadError } from '@brix/cluster-sim';
import { type ArrivalProcess, arrivalTimes, peakRate, rateAt, scaleArrivals } from './arrivals';

function take(p: ArrivalProcess, untilMs: number, seed = 1): number[] {
  const out: number[] = [];
  for (const t of arrivalTimes(p, new Rng(seed))) {
    if (t >= untilMs) break;
    out.push(t);
  }
  return out;
}

const countIn = (ts: number[], from: number, to: number) => ts.filter((t) => t >= from && t < to).length;

describe('arrival processes', () => {
  it('poisson: the configured rate, increasing times, the same times for the same seed', () => {
    const p = { kind: 'poisson', ratePerSec: 50 } as const;
    const ts = take(p, 200_000);
    // 10,000 expected; a Poisson count has σ = 100, so ±4% is 4σ
    expect(ts.length).toBeGreaterThan(9600);
    expect(ts.length).toBeLessThan(10_400);
    for (let i = 1; i < ts.length; i++) expect(ts[i]!).toBeGreaterThan(ts[i - 1]!);
    expect(take(p, 10_000)).toEqual(ts.filter((t) => t < 10_000));
    expect(take(p, 10_000, 2)).not.toEqual(ts.filter((t) => t < 10_000));
  });

  it('on-off: the mean rate overall, burstFactor times more arrivals per ms inside bursts', () => {
    const p = { kind: 'on-off', ratePerSec: 40, burstFactor: 5, onMs: 2000, offMs: 8000 } as const;
    // base rate b: (5b·2 + b·8)/10 = 40 → b = 22.2/s, bursts 111/s
    expect(rateAt(p, 0)).toBeCloseTo(111.11, 1);
    expect(rateAt(p, 5000)).toBeCloseTo(22.22, 1);
    expect(peakRate(p)).toBeCloseTo(111.11, 1);
    const ts = take(p, 500_000);
    expect(ts.length / 500).toBeGreaterThan(40 * 0.96);
    expect(ts.length / 500).toBeLessThan(40 * 1.04);
    let on = 0;
    let off = 0;
    for (const t of ts) {
      if (t % 10_000 < 2000) on++;
      else off++;
    }
    // per ms: on / 2000 vs off / 8000 → ratio 5
    const ratio = on / 2000 / (off / 8000);
    expect(ratio).toBeGreaterThan(4.5);
    expect(ratio).toBeLessThan(5.5);
  });

  it('diurnal: a ramp from the trough at t=0 to the peak at half a period, averaging the mean rate', () => {
    const p = { kind: 'diurnal', ratePerSec: 30, peakToTrough: 4, periodMs: 100_000 } as const;
    // trough 12/s, peak 48/s
    expect(rateAt(p, 0)).toBeCloseTo(12, 6);
    expect(rateAt(p, 50_000)).toBeCloseTo(48, 6);
    const ts = take(p, 1_000_000);
    expect(ts.length / 1000).toBeGreaterThan(30 * 0.96);
    expect(ts.length / 1000).toBeLessThan(30 * 1.04);
    // Over ten periods: the 10% of each period around the trough vs around the peak.
    let trough = 0;
    let peak = 0;
    for (let k = 0; k < 10; k++) {
      trough += countIn(ts, k * 100_000, k * 100_000 + 5000) + countIn(ts, k * 100_000 + 95_000, (k + 1) * 100_000);
      peak += countIn(ts, k * 100_000 + 45_000, k * 100_000 + 55_000);
    }
    // rates averaged over those windows: ≈12.2/s and ≈47.8/s
    expect(peak / trough).toBeGreaterThan(3.4);
    expect(peak / trough).toBeLessThan(4.6);
  });

  it('scales the mean rate and keeps the shape', () => {
    const p = scaleArrivals({ kind: 'on-off', ratePerSec: 10, burstFactor: 3, onMs: 1, offMs: 1 } as ArrivalProcess, 2);
    expect(p).toEqual({ kind: 'on-off', ratePerSec: 20, burstFactor: 3, onMs: 1, offMs: 1 });
  });

  it.each([
    [{ kind: 'poisson', ratePerSec: 0 }, /ratePerSec/],
    [{ kind: 'on-off', ratePerSec: 1, burstFactor: 0.5, onMs: 1, offMs: 1 }, /burstFactor/],
    [{ kind: 'diurnal', ratePerSec: 1, peakToTrough: 2, periodMs: 0 }, /periodMs/],
  ] as const)('refuses %j', (p, message) => {
    expect(() => arrivalTimes(p as ArrivalProcess, new Rng(1)).next()).toThrow(WorkloadError);
    expect(() => arrivalTimes(p as ArrivalProcess, new Rng(1)).next()).toThrow(message);
  });
});
