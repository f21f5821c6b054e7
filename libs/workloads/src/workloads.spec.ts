import { type SimRequest, type Workload, WorkloadError } from '@brix/cluster-sim';
import { birdSqlWorkload } from './bird-sql';
import { buildWorkload } from './catalog';
import { multiTurnWorkload } from './multi-turn';
import { sharedPrefixWorkload } from './shared-prefix';
import { SHAREGPT_PUBLISHED_MEANS, shareGptWorkload } from './sharegpt';

const poisson = (ratePerSec: number) => ({ kind: 'poisson', ratePerSec }) as const;

function all(w: Workload): SimRequest[] {
  const out: SimRequest[] = [];
  const it = w.requests();
  for (let r = it.next(); !r.done; r = it.next()) out.push(r.value);
  return out;
}

/** Length of the common prefix of two prompts. */
function common(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;

describe('shared-prefix workload', () => {
  const options = { seed: 3, arrivals: poisson(20), count: 2000, tenants: 10 };

  it('is deterministic by seed', () => {
    // Compared as arrays of plain numbers: jest's deep equality over millions of typed-array elements is slow.
    const flat = (rs: SimRequest[]) => rs.map((r) => ({ ...r, promptTokenIds: Array.from(r.promptTokenIds).join() }));
    const a = all(sharedPrefixWorkload({ ...options, count: 300 }));
    expect(flat(all(sharedPrefixWorkload({ ...options, count: 300 })))).toEqual(flat(a));
    expect(all(sharedPrefixWorkload({ ...options, seed: 4 }))[0]!.promptTokenIds).not.toEqual(a[0]!.promptTokenIds);
  });

  it("requests of a tenant share exactly the tenant's system prompt; other tenants share nothing", () => {
    const w = sharedPrefixWorkload(options);
    const prompts = w.prefixes();
    const reqs = all(w);
    const byTenant = new Map<string, SimRequest[]>();
    for (const r of reqs) byTenant.set(r.user!, [...(byTenant.get(r.user!) ?? []), r]);
    expect(byTenant.size).toBe(10);
    for (const [tenant, rs] of byTenant) {
      const doc = prompts[Number(tenant.slice('tenant-'.length))]!;
      expect(doc.length).toBeGreaterThanOrEqual(1500);
      expect(doc.length).toBeLessThanOrEqual(2500);
      for (let i = 1; i < Math.min(rs.length, 40); i++)
        expect(common(rs[i]!.promptTokenIds, rs[i - 1]!.promptTokenIds)).toBe(doc.length);
    }
    const [a, b] = [...byTenant.values()].map((rs) => rs[0]!);
    expect(common(a!.promptTokenIds, b!.promptTokenIds)).toBe(0);
  });

  it('has the stated mean user and output lengths, and uniform tenants by default', () => {
    const w = sharedPrefixWorkload({ ...options, count: 20_000 });
    const docs = w.prefixes();
    const reqs = all(w);
    const own = reqs.map((r) => r.promptTokenIds.length - docs[Number(r.user!.slice(7))]!.length);
    // log-normal median 80, σ 0.6: mean 80·e^0.18 ≈ 95.8; output median 100: ≈ 119.7 (clamps cut < 0.1%)
    expect(mean(own)).toBeGreaterThan(95.8 * 0.97);
    expect(mean(own)).toBeLessThan(95.8 * 1.03);
    expect(mean(reqs.map((r) => r.outputTokens!))).toBeGreaterThan(119.7 * 0.97);
    expect(mean(reqs.map((r) => r.outputTokens!))).toBeLessThan(119.7 * 1.03);
    const counts = new Map<string, number>();
    for (const r of reqs) counts.set(r.user!, (counts.get(r.user!) ?? 0) + 1);
    // 2,000 each expected; binomial σ ≈ 42
    for (const c of counts.values()) expect(Math.abs(c - 2000)).toBeLessThan(200);
  });

  it('refuses a tenant count below 1', () => {
    expect(() => sharedPrefixWorkload({ ...options, tenants: 0 })).toThrow(/tenants must be an integer ≥ 1/);
  });
});

describe('sharegpt (no-sharing) workload', () => {
  it('has the published mean lengths within 3% and shares no prefix block', () => {
    const reqs = all(shareGptWorkload({ seed: 9, arrivals: poisson(10), count: 40_000 }));
    // Clamps (input ≤ 4096, output ≤ 2048) take < 2% off the means.
    expect(mean(reqs.map((r) => r.promptTokenIds.length)) / SHAREGPT_PUBLISHED_MEANS.inputTokens).toBeGreaterThan(0.97);
    expect(mean(reqs.map((r) => r.promptTokenIds.length)) / SHAREGPT_PUBLISHED_MEANS.inputTokens).toBeLessThan(1.03);
    expect(mean(reqs.map((r) => r.outputTokens!)) / SHAREGPT_PUBLISHED_MEANS.outputTokens).toBeGreaterThan(0.97);
    expect(mean(reqs.map((r) => r.outputTokens!)) / SHAREGPT_PUBLISHED_MEANS.outputTokens).toBeLessThan(1.03);
    // No two prompts begin with the same 4 tokens (a 16-token KV block could never be shared).
    const heads = new Set(
      reqs.filter((r) => r.promptTokenIds.length >= 4).map((r) => Array.from(r.promptTokenIds).slice(0, 4).join()),
    );
    expect(heads.size).toBe(reqs.filter((r) => r.promptTokenIds.length >= 4).length);
  });

  it('replays the same prompts at another rate (arrivals and content are separate streams)', () => {
    const slow = all(shareGptWorkload({ seed: 2, arrivals: poisson(5), count: 50 }));
    const fast = all(
      shareGptWorkload({ seed: 2, arrivals: { kind: 'diurnal', ratePerSec: 50, peakToTrough: 3, periodMs: 60_000 }, count: 50 }),
    );
    expect(fast.map((r) => r.promptTokenIds)).toEqual(slow.map((r) => r.promptTokenIds));
    expect(fast.at(-1)!.arrivalMs).toBeLessThan(slow.at(-1)!.arrivalMs);
  });
});

describe('bird-sql workload', () => {
  it('uses a few long schema prefixes, Zipf-popular, with short questions and SQL', () => {
    const reqs = all(birdSqlWorkload({ seed: 1, arrivals: poisson(10), count: 5000 }));
    const users = new Map<string, number>();
    for (const r of reqs) users.set(r.user!, (users.get(r.user!) ?? 0) + 1);
    expect(users.size).toBe(11);
    // Zipf 0.8: the most popular database gets 11^0.8 ≈ 6.8× the least popular's questions
    expect(users.get('db-0')! / users.get('db-10')!).toBeGreaterThan(5);
    const sameDb = reqs.filter((r) => r.user === 'db-0');
    const schema = common(sameDb[0]!.promptTokenIds, sameDb[1]!.promptTokenIds);
    expect(schema).toBeGreaterThanOrEqual(1500);
    expect(schema).toBeLessThanOrEqual(3500);
    expect(mean(sameDb.map((r) => r.promptTokenIds.length - schema))).toBeLessThan(60);
    expect(mean(reqs.map((r) => r.outputTokens!))).toBeLessThan(80);
  });
});

describe('multi-turn workload', () => {
  /** Plays a closed loop without a cluster: every turn answers after 500 ms with its chosen output length. */
  function play(seed: number, count = 200): SimRequest[] {
    const w = multiTurnWorkload({ seed, arrivals: poisson(2), count, thinkTimeMs: 1000 });
    const out: SimRequest[] = [];
    const pending: SimRequest[] = [];
    const it = w.requests();
    for (let r = it.next(); !r.done; r = it.next()) pending.push(r.value);
    while (pending.length > 0) {
      pending.sort((a, b) => a.arrivalMs - b.arrivalMs || a.id!.localeCompare(b.id!));
      const r = pending.shift()!;
      out.push(r);
      w.onFinished({ id: r.id!, status: 'ok', finishedMs: r.arrivalMs + 500, outputTokens: r.outputTokens! }, (next) =>
        pending.push(next),
      );
    }
    expect(w.openSessions()).toBe(0);
    return out;
  }

  it('turn n+1 extends turn n: its prompt starts with the whole previous prompt, then the answer and a new message', () => {
    const reqs = play(5);
    const bySession = new Map<string, SimRequest[]>();
    for (const r of reqs) bySession.set(r.sessionId!, [...(bySession.get(r.sessionId!) ?? []), r]);
    expect(bySession.size).toBe(200);
    let followUps = 0;
    for (const turns of bySession.values()) {
      expect(turns.length).toBeGreaterThanOrEqual(1);
      expect(turns.length).toBeLessThanOrEqual(8);
      for (let i = 1; i < turns.length; i++) {
        const [prev, next] = [turns[i - 1]!, turns[i]!];
        expect(next.id).toBe(`${next.sessionId}-t${i}`);
        expect(common(next.promptTokenIds, prev.promptTokenIds)).toBe(prev.promptTokenIds.length);
        expect(next.promptTokenIds.length).toBeGreaterThan(prev.promptTokenIds.length + prev.outputTokens!);
        // sent after the answer (500 ms) and a think time
        expect(next.arrivalMs).toBeGreaterThan(prev.arrivalMs + 500);
        followUps++;
      }
    }
    // Sessions have 2–8 turns (mean 5) unless the context limit ends them: most follow-ups happen.
    expect(followUps / bySession.size).toBeGreaterThan(2.5);
    // Sessions do not share prompts with each other.
    const firsts = [...bySession.values()].map((t) => t[0]!);
    expect(common(firsts[0]!.promptTokenIds, firsts[1]!.promptTokenIds)).toBe(0);
  });

  it('is deterministic by seed whatever order sessions finish in', () => {
    expect(play(7, 50)).toEqual(play(7, 50));
    expect(play(8, 50)[0]!.promptTokenIds).not.toEqual(play(7, 50)[0]!.promptTokenIds);
  });

  it('ends a session when a turn fails', () => {
    const w = multiTurnWorkload({ seed: 1, arrivals: poisson(1), count: 1, turns: { min: 5, max: 5 } });
    const first = w.requests().next().value as SimRequest;
    const submitted: SimRequest[] = [];
    w.onFinished({ id: first.id!, status: 'failed', finishedMs: 10, outputTokens: 0 }, (r) => submitted.push(r));
    expect(submitted).toEqual([]);
    expect(w.openSessions()).toBe(0);
  });
});

describe('buildWorkload', () => {
  it('names the requests per arrival for sizing rates, and refuses unknown workloads', () => {
    expect(buildWorkload({ kind: 'multi-turn' }, { arrivals: poisson(1), count: 1 }).requestsPerArrival).toBe(5);
    expect(buildWorkload({ kind: 'sharegpt' }, { arrivals: poisson(1), count: 1 }).means.promptTokens).toBeCloseTo(161.6, 0);
    expect(() => buildWorkload({ kind: 'nope' } as never, { arrivals: poisson(1), count: 1 })).toThrow(WorkloadError);
    expect(() => buildWorkload({ kind: 'sharegpt' }, { arrivals: poisson(1) })).toThrow(/set durationMs or count/);
  });
});
