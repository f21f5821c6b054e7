import { type KvBucket, MemoryBus } from '@brix/bus';
import { VirtualClock } from '@brix/clock';
import { createLogger } from '@brix/observability';
import {
  CounterUnavailableError,
  LeasedCounter,
  type LeasedCounterOptions,
  LimitExceededError,
  type Reservation,
} from './leased-counter';

// 10 slots of 1 s: a 10 s window. Dimensions: [requests, tokens].
const shape = { slotMs: 1000, slots: 10 };
const logger = createLogger({ service: 'test', level: 'silent' });
const T0 = 1_000_000; // a slot boundary (slot 1000)

/** Lets promise chains and the in-memory bus's microtasks run. */
const drain = () => new Promise<void>((r) => setImmediate(r));

async function setup(overrides: Partial<LeasedCounterOptions> = {}) {
  const clock = new VirtualClock(T0);
  const bus = new MemoryBus({ now: () => clock.now() });
  const bucket = await bus.kv('counters');
  const make = (extra: Partial<LeasedCounterOptions> = {}) =>
    new LeasedCounter({
      bucket,
      dims: 2,
      shape,
      leaseFraction: 0.05,
      leaseIdleMs: 500,
      kvTimeoutMs: 200,
      failMode: 'open',
      clock,
      connected: () => true,
      logger,
      ...overrides,
      ...extra,
    });
  /** Total per dimension charged in the shared value. */
  const shared = async (key: string) => {
    const e = await bucket.get(key);
    if (!e) return [0, 0];
    const v = JSON.parse(new TextDecoder().decode(e.value)) as { s: number[][] };
    return v.s.reduce((acc, [, a, b]) => [acc[0]! + (a ?? 0), acc[1]! + (b ?? 0)], [0, 0]);
  };
  const advance = async (ms: number) => {
    // Step in small increments so timers fire in order and the writes they start can finish.
    for (let t = 0; t < ms; t += 5) {
      clock.advance(Math.min(5, ms - t));
      await drain();
    }
  };
  return { clock, bus, bucket, make, shared, advance };
}

/** A bucket that delegates to `inner` except where `overrides` says otherwise (a failure injected at the port). */
function wrap(inner: KvBucket, overrides: Partial<KvBucket>): KvBucket {
  return {
    name: inner.name,
    get: (k) => inner.get(k),
    put: (k, v) => inner.put(k, v),
    create: (k, v) => inner.create(k, v),
    update: (k, v, r) => inner.update(k, v, r),
    delete: (k) => inner.delete(k),
    keys: (f) => inner.keys(f),
    watch: (h, o) => inner.watch(h, o),
    ...overrides,
  };
}

const isPromise = (v: unknown) => typeof (v as Promise<unknown> | undefined)?.then === 'function';

describe('LeasedCounter', () => {
  it('leases the need plus a slice in one write, then serves requests from the lease without the network', async () => {
    const { make, shared } = await setup();
    const c = make();
    const first = c.reserve('u.a', [100, 1000], [1, 10]);
    expect(isPromise(first)).toBe(true);
    await first;
    // requests: need 1 + slice ceil(100 × 0.05) = 5 → 6; tokens: need 10 + slice 50 → 60
    expect(await shared('u.a')).toEqual([6, 60]);
    // The next 5 requests of 10 tokens fit in the remaining lease (5 requests, 50 tokens): synchronous.
    for (let i = 0; i < 5; i++) expect(isPromise(c.reserve('u.a', [100, 1000], [1, 10]))).toBe(false);
    // The lease is used up now: the 7th request goes to the network again.
    expect(isPromise(c.reserve('u.a', [100, 1000], [1, 10]))).toBe(true);
    await c.close();
  });

  it('refuses with the time until enough of the window expires', async () => {
    const { make, advance } = await setup();
    const c = make({ leaseFraction: 1 });
    // need 60: leases 60 + min(slice 100, half of the 40 left) = 80 at slot 1000; the idle 20 go back → 60
    await c.reserve('u.a', [0, 100], [1, 60]);
    await advance(3000);
    // now slot 1003; need 30: leases 30 + half of the 10 left = 35 → 95 charged, 5 held in the lease
    await c.reserve('u.a', [0, 100], [1, 30]);
    let caught: unknown;
    try {
      await c.reserve('u.a', [0, 100], [1, 20]);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(LimitExceededError);
    const e = caught as LimitExceededError;
    expect(e.dim).toBe(1);
    // 95 charged, 5 of them this replica's unused lease: 90 reported as used. 20 needed of which the lease
    // covers 5, so 15 must be free: slot 1000 (60 tokens) has to expire, at (1000 + 10 + 1) s; now 1003 s → 8 s
    expect(e.used).toBe(90);
    expect(e.retryAfterMs).toBe(8000);
    await c.close();
  });

  it('refuses a request larger than the limit at once, with no retry time', () => {
    return setup().then(({ make }) => {
      const c = make();
      expect(() => c.reserve('u.a', [10, 100], [1, 101])).toThrow(LimitExceededError);
      try {
        c.reserve('u.a', [10, 100], [1, 101]);
      } catch (err) {
        expect((err as LimitExceededError).retryAfterMs).toBeUndefined();
      }
      return c.close();
    });
  });

  it('returns an idle lease to the shared counter', async () => {
    const { make, shared, advance } = await setup();
    const c = make();
    await c.reserve('u.a', [100, 1000], [1, 10]);
    expect(await shared('u.a')).toEqual([6, 60]);
    // idle 500 ms → the unused 5 requests and 50 tokens go back; the request's own 1 and 10 stay
    await advance(600);
    expect(await shared('u.a')).toEqual([1, 10]);
    await c.close();
  });

  it('returns what is left of a lease when its slot ends', async () => {
    const { make, shared, advance } = await setup();
    const c = make({ leaseIdleMs: 60_000 });
    await c.reserve('u.a', [100, 1000], [1, 10]);
    await advance(1000); // slot 1001 begins; the sweep returns the slot-1000 lease
    expect(await shared('u.a')).toEqual([1, 10]);
    await c.close();
  });

  it.each([
    // failure: the request and all its tokens come back
    ['a failed request', [-1, -100], [0, 0]],
    // used 40 of 100 reserved: 60 tokens come back, the request stays counted
    ['a request that used less', [0, -60], [1, 40]],
    // used 150 of 100 reserved: 50 more are charged
    ['a request that used more', [0, 50], [1, 150]],
  ])('settles %s', async (_case, delta, expected) => {
    const { make, shared, advance } = await setup();
    const c = make({ leaseFraction: 0.0001 }); // slice of 1: the lease holds almost nothing beyond the need
    const r = (await c.reserve('u.a', [10, 1000], [1, 100])) as Reservation;
    // the lease holds the slice (1 request, 1 token); it is returned once idle
    c.adjust(r, delta);
    await advance(1000);
    expect(await shared('u.a')).toEqual(expected);
    await c.close();
  });

  it('frees budget when the window has passed', async () => {
    const { make, advance } = await setup();
    const c = make({ leaseFraction: 1 });
    await c.reserve('u.a', [0, 100], [1, 100]);
    await expect(Promise.resolve().then(() => c.reserve('u.a', [0, 100], [1, 1]))).rejects.toBeInstanceOf(LimitExceededError);
    // the charge of slot 1000 is counted until (1000 + 11) s
    await advance(10_999);
    await expect(Promise.resolve().then(() => c.reserve('u.a', [0, 100], [1, 1]))).rejects.toBeInstanceOf(LimitExceededError);
    await advance(1);
    await expect(Promise.resolve().then(() => c.reserve('u.a', [0, 100], [1, 1]))).resolves.toMatchObject({ key: 'u.a' });
    await c.close();
  });

  it('never admits more than the limit across replicas, however requests interleave', async () => {
    const { make, shared, advance } = await setup();
    const replicas = [make(), make(), make()];
    const limit = 1000;
    let admitted = 0;
    let refused = 0;
    // 3 replicas × 60 concurrent requests of 7..26 tokens, far more than the limit allows
    const all: Promise<void>[] = [];
    for (let i = 0; i < 180; i++) {
      const need = 7 + (i % 20);
      const replica = replicas[i % 3]!;
      all.push(
        Promise.resolve()
          .then(() => replica.reserve('u.a', [0, limit], [1, need]))
          .then(
            () => void (admitted += need),
            (err) => {
              if (!(err instanceof LimitExceededError)) throw err;
              refused++;
            },
          ),
      );
    }
    await Promise.all(all);
    expect(admitted).toBeLessThanOrEqual(limit);
    expect(refused).toBeGreaterThan(0);
    // Leases held by replicas are counted in the shared value, so it never exceeds the limit either.
    expect((await shared('u.a'))[1]).toBeLessThanOrEqual(limit);
    // Once idle leases are returned, the shared value is exactly what was admitted.
    await advance(600);
    expect((await shared('u.a'))[1]).toBe(admitted);
    await Promise.all(replicas.map((r) => r.close()));
  });

  it('reports remaining budget and reset time for headers', async () => {
    const { make } = await setup();
    const c = make();
    expect(c.status('u.a', [100, 1000])).toEqual({ remaining: [100, 1000], resetMs: [0, 0] });
    await c.reserve('u.a', [100, 1000], [1, 10]);
    // 6 requests and 60 tokens charged, of which this replica still holds 5 and 50 in its lease:
    // remaining = limit − charged + own lease; reset when slot 1000 expires at 1011 s, 11 s from now
    expect(c.status('u.a', [100, 1000])).toEqual({ remaining: [99, 990], resetMs: [11_000, 11_000] });
    await c.close();
  });

  describe('when the shared counter is unreachable', () => {
    it('fail-closed refuses what no lease covers, and admits what a live lease covers', async () => {
      let connected = true;
      const { make } = await setup();
      const c = make({ failMode: 'closed', connected: () => connected, leaseIdleMs: 60_000 });
      await c.reserve('u.a', [100, 1000], [1, 10]); // lease left: 5 requests, 50 tokens
      connected = false;
      expect(isPromise(c.reserve('u.a', [100, 1000], [1, 10]))).toBe(false);
      await expect(Promise.resolve().then(() => c.reserve('u.a', [100, 1000], [1, 100]))).rejects.toBeInstanceOf(
        CounterUnavailableError,
      );
      await expect(Promise.resolve().then(() => c.reserve('u.b', [100, 1000], [1, 1]))).rejects.toBeInstanceOf(
        CounterUnavailableError,
      );
      await c.close();
    });

    it('fail-open enforces the limit locally and writes the counts once the bucket is back', async () => {
      let connected = false;
      const { make, shared, advance } = await setup();
      const c = make({ connected: () => connected });
      for (let i = 0; i < 10; i++) await c.reserve('u.a', [0, 100], [1, 10]);
      await expect(Promise.resolve().then(() => c.reserve('u.a', [0, 100], [1, 10]))).rejects.toBeInstanceOf(LimitExceededError);
      expect(await shared('u.a')).toEqual([0, 0]);
      connected = true;
      await advance(300); // the sweep writes what was counted locally
      // requests are not limited here (limit 0), so only tokens were counted: 10 × 10
      expect(await shared('u.a')).toEqual([0, 100]);
      await c.close();
    });

    it('fail-open times a hanging bucket out instead of waiting for it', async () => {
      const { make, bucket, clock } = await setup();
      const hanging = wrap(bucket, { get: () => new Promise(() => undefined) });
      const c = make({ bucket: hanging, kvTimeoutMs: 200 });
      const pending = c.reserve('u.a', [0, 100], [1, 10]) as Promise<Reservation>;
      await drain(); // the read has started and waits
      clock.advance(200);
      await expect(pending).resolves.toMatchObject({ amounts: [0, 10] });
      // Right after a timeout, requests are decided without trying the network again.
      const next = Promise.resolve(c.reserve('u.a', [0, 100], [1, 10]));
      await expect(Promise.race([next, drain().then(() => 'still waiting')])).resolves.toMatchObject({ amounts: [0, 10] });
      // close() tries to write the local count and times out the same way
      const closing = c.close();
      await drain();
      clock.advance(200);
      await closing;
    });
  });

  it('fail-open does not make requests queued behind a hanging read wait out the timeout one after another', async () => {
    const { make, bucket, clock } = await setup();
    const c = make({ bucket: wrap(bucket, { get: () => new Promise(() => undefined) }), kvTimeoutMs: 200 });
    const queued = [1, 2, 3].map(() => c.reserve('u.a', [0, 100], [1, 10]) as Promise<Reservation>);
    await drain();
    clock.advance(200); // one timeout
    await expect(Promise.all(queued)).resolves.toHaveLength(3);
    const closing = c.close();
    await drain();
    clock.advance(200);
    await closing;
  });

  it('does not apply a write twice when its answer was lost', async () => {
    const { make, bucket, shared, advance } = await setup();
    let loseNextAnswer = false;
    // The write reaches the bucket, but the replica never hears back (a connection cut mid-request).
    const lossy = wrap(bucket, {
      update: async (k, v, r) => {
        const rev = await bucket.update(k, v, r);
        if (loseNextAnswer) {
          loseNextAnswer = false;
          throw new Error('connection reset');
        }
        return rev;
      },
    });
    const c = make({ bucket: lossy, leaseFraction: 0.0001 });
    const r = (await c.reserve('u.a', [0, 1000], [1, 100])) as Reservation;
    await advance(600); // the 1-token slice comes back once idle
    expect(await shared('u.a')).toEqual([0, 100]);
    loseNextAnswer = true;
    c.adjust(r, [0, -40]); // refund 40: written, but the answer is lost
    await advance(600); // the next sweep reads the value, sees its own mark, and does not refund again
    expect(await shared('u.a')).toEqual([0, 60]);
    await c.close();
  });
});
