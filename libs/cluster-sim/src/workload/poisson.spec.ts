import { Rng } from '@brix/clock';
import { WorkloadError } from '../errors';
import { meanLength, sampleLength } from './lengths';
import { type PoissonWorkloadInput, poissonWorkload, poissonWorkloadMeans } from './poisson';
import { fillTokens, PrefixPool, TokenArena } from './tokens';
import { type SimRequest } from './workload';

const base: PoissonWorkloadInput = {
  seed: 5,
  ratePerSec: 10,
  durationMs: 600_000,
  uniqueTokens: { kind: 'uniform', min: 20, max: 60 },
  sharedPrefix: { documents: 4, tokens: 64, fraction: 0.5, zipf: 0 },
  outputTokens: { kind: 'log-normal', median: 100, sigma: 0.5, max: 300 },
};

function all(input: PoissonWorkloadInput): SimRequest[] {
  const out: SimRequest[] = [];
  const it = poissonWorkload(input).requests();
  for (let r = it.next(); !r.done; r = it.next()) out.push(r.value);
  return out;
}

const startsWith = (a: ArrayLike<number>, prefix: ArrayLike<number>) => {
  if (a.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (a[i] !== prefix[i]) return false;
  return true;
};

describe('poissonWorkload', () => {
  it('gives the same requests for the same seed and others for another seed', () => {
    const a = all(base);
    expect(all(base)).toEqual(a);
    expect(all({ ...base, seed: 6 }).map((r) => r.arrivalMs)).not.toEqual(a.map((r) => r.arrivalMs));
  });

  it('arrives at the configured rate, in order, within the window', () => {
    const reqs = all(base);
    // 10 req/s for 600 s: 6000 expected; a Poisson count has σ = √6000 ≈ 77, so ±5% is over 3σ
    expect(reqs.length).toBeGreaterThan(5700);
    expect(reqs.length).toBeLessThan(6300);
    for (let i = 1; i < reqs.length; i++) expect(reqs[i]!.arrivalMs).toBeGreaterThanOrEqual(reqs[i - 1]!.arrivalMs);
    expect(reqs.at(-1)!.arrivalMs).toBeLessThan(600_000);
    // ids in arrival order
    expect(reqs.slice(0, 3).map((r) => r.id)).toEqual(['r0', 'r1', 'r2']);
  });

  it('stops after `count` requests when that comes first', () => {
    expect(all({ ...base, count: 25 })).toHaveLength(25);
  });

  it('builds prompts from shared documents plus fresh tokens: shared prefixes are real shared sequences', () => {
    const reqs = all({ ...base, durationMs: 60_000 });
    const docs = new PrefixPool(new Rng(5).fork(), { documents: 4, tokens: 64, vocabSize: 128_000 }).documents;
    let shared = 0;
    for (const r of reqs) {
      const doc = docs.find((d) => startsWith(r.promptTokenIds, d));
      const fresh = r.promptTokenIds.length - (doc?.length ?? 0);
      if (doc) shared++;
      expect(fresh).toBeGreaterThanOrEqual(20);
      expect(fresh).toBeLessThanOrEqual(60);
      for (let i = 0; i < r.promptTokenIds.length; i++) {
        expect(r.promptTokenIds[i]).toBeGreaterThanOrEqual(0);
        expect(r.promptTokenIds[i]).toBeLessThan(128_000);
      }
    }
    // half of ≈600 requests start with a document (binomial σ ≈ 12, so 40–60% is beyond 4σ)
    expect(shared / reqs.length).toBeGreaterThan(0.4);
    expect(shared / reqs.length).toBeLessThan(0.6);
    // fresh parts are not shared: no two requests have the same first 16 tokens after their document
    const heads = new Set(
      reqs.map((r) => {
        const doc = docs.find((d) => startsWith(r.promptTokenIds, d));
        return Array.from(r.promptTokenIds)
          .slice(doc?.length ?? 0, (doc?.length ?? 0) + 16)
          .join(',');
      }),
    );
    expect(heads.size).toBe(reqs.length);
  });

  it('skews document popularity with a Zipf exponent', () => {
    const pool = new PrefixPool(new Rng(1), { documents: 10, tokens: 4, vocabSize: 100, zipf: 1.2 });
    const rng = new Rng(2);
    const counts = new Array<number>(10).fill(0);
    for (let i = 0; i < 20_000; i++) counts[pool.pickIndex(rng)]!++;
    // weight of document k is 1/(k+1)^1.2: the first is 2^1.2 ≈ 2.3× the second and 10^1.2 ≈ 16× the last
    expect(counts[0]! / counts[1]!).toBeGreaterThan(2);
    expect(counts[0]! / counts[1]!).toBeLessThan(2.6);
    expect(counts[0]! / counts[9]!).toBeGreaterThan(12);
  });

  it.each([
    ['a fixed length', 42, 42],
    // uniform 10..20: mean 15
    ['a uniform range', { kind: 'uniform', min: 10, max: 20 } as const, 15],
    // log-normal: median × e^(σ²/2) = 100 × e^0.125 ≈ 113.3
    ['a log-normal', { kind: 'log-normal', median: 100, sigma: 0.5 } as const, 113.3],
  ])('samples lengths from %s with the stated mean', (_name, d, mean) => {
    const rng = new Rng(3);
    let sum = 0;
    const n = 20_000;
    for (let i = 0; i < n; i++) sum += sampleLength(d, rng);
    expect(sum / n).toBeGreaterThan(mean * 0.98);
    expect(sum / n).toBeLessThan(mean * 1.02);
    expect(meanLength(d)).toBeCloseTo(mean, 0);
  });

  it('reports mean prompt and output lengths for sizing a rate', () => {
    // half the requests carry a 64-token document; fresh part uniform 20..60 (mean 40): 32 + 40
    expect(poissonWorkloadMeans(base).promptTokens).toBeCloseTo(72, 6);
    expect(poissonWorkloadMeans(base).outputTokens).toBeCloseTo(100 * Math.exp(0.125), 6);
  });

  it.each([
    ['neither duration nor count', { ...base, durationMs: undefined }, /durationMs or count/],
    ['a non-positive rate', { ...base, ratePerSec: 0 }, /ratePerSec/],
    ['min above max', { ...base, uniqueTokens: { kind: 'uniform', min: 9, max: 3 } }, /uniqueTokens min 9 > max 3/],
  ] as const)('refuses %s', (_name, input, message) => {
    expect(() => poissonWorkload(input as PoissonWorkloadInput)).toThrow(WorkloadError);
    expect(() => poissonWorkload(input as PoissonWorkloadInput)).toThrow(message);
  });

  it('fills tokens from a seeded stream: same seed same tokens, another seed others', () => {
    const a = new Int32Array(32);
    const b = new Int32Array(32);
    fillTokens(a, 0, 32, 7, 1000);
    fillTokens(b, 0, 32, 7, 1000);
    expect(b).toEqual(a);
    fillTokens(b, 0, 32, 8, 1000);
    expect(b).not.toEqual(a);
  });

  it('cuts prompt arrays from shared chunks: zeroed and disjoint; one over a quarter chunk gets its own buffer', () => {
    const arena = new TokenArena(64);
    const a = arena.take(10);
    const b = arena.take(16);
    a.fill(7);
    expect([a.buffer === b.buffer, [...b].every((t) => t === 0)]).toEqual([true, true]);
    // 26 + 16 + 16 = 58 of 64 tokens used: the next 16 do not fit, so a fresh chunk starts
    expect([arena.take(16).buffer, arena.take(16).buffer, arena.take(16).buffer].map((x) => x === a.buffer)).toEqual([
      true,
      true,
      false,
    ]);
    expect(arena.take(17).buffer.byteLength).toBe(17 * 4);
  });
});
