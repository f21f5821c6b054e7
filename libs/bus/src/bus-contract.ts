/**
 * The contract every Bus adapter passes. Each adapter's spec calls {@link describeBusContract} with a
 * factory; the same expectations run against the in-memory bus and against a real nats-server.
 */
import { randomUUID } from 'node:crypto';
import { type Bus, type BusMessage, type KvChange, KvConflictError, NoRespondersError, RequestTimeoutError } from './port';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

/** Collects messages and lets a test wait until `n` have arrived. */
export function collector<T>() {
  const items: T[] = [];
  let waiters: Array<() => void> = [];
  return {
    items,
    push(item: T) {
      items.push(item);
      const ws = waiters;
      waiters = [];
      ws.forEach((w) => w());
    },
    async waitFor(n: number, timeoutMs = 5_000): Promise<T[]> {
      const deadline = Date.now() + timeoutMs;
      while (items.length < n) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`expected ${n} items, got ${items.length}`);
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(t);
            resolve();
          });
        });
      }
      return items;
    },
  };
}

export interface BusFixture {
  /** A bus connected to the shared medium; two calls give two independent clients of the same medium. */
  connect(): Promise<Bus>;
  teardown(): Promise<void>;
}

export function describeBusContract(adapter: string, setup: () => Promise<BusFixture>): void {
  describe(`Bus contract: ${adapter}`, () => {
    let fixture: BusFixture;
    let a: Bus;
    let b: Bus;
    // Each test uses its own subject prefix so leftovers from one test cannot satisfy another.
    let p: string;

    beforeAll(async () => {
      fixture = await setup();
    });
    afterAll(async () => {
      await fixture.teardown();
    });
    beforeEach(async () => {
      a = await fixture.connect();
      b = await fixture.connect();
      p = `t${randomUUID().slice(0, 8)}`;
    });
    afterEach(async () => {
      await a.close();
      await b.close();
    });

    describe('publish / subscribe', () => {
      it('delivers a message to a subscriber of another client, with headers', async () => {
        const got = collector<BusMessage>();
        b.subscribe(`${p}.hello`, (m) => got.push(m));
        await b.flush();
        a.publish(`${p}.hello`, enc('hi'), { 'x-trace': 'abc' });
        const [m] = await got.waitFor(1);
        expect(m!.subject).toBe(`${p}.hello`);
        expect(dec(m!.data)).toBe('hi');
        expect(m!.headers?.['x-trace']).toBe('abc');
      });

      it('matches `*` to exactly one token and `>` to the rest', async () => {
        const star = collector<string>();
        const tail = collector<string>();
        b.subscribe(`${p}.load.*`, (m) => star.push(m.subject));
        b.subscribe(`${p}.load.>`, (m) => tail.push(m.subject));
        await b.flush();
        a.publish(`${p}.load.x`, enc('1'));
        a.publish(`${p}.load.x.y`, enc('2'));
        a.publish(`${p}.other`, enc('3'));
        await tail.waitFor(2);
        await a.flush();
        await b.flush();
        expect(star.items).toEqual([`${p}.load.x`]);
        expect(tail.items.sort()).toEqual([`${p}.load.x`, `${p}.load.x.y`]);
      });

      it('preserves the order of messages from one publisher', async () => {
        const got = collector<string>();
        b.subscribe(`${p}.seq`, (m) => got.push(dec(m.data)));
        await b.flush();
        for (let i = 0; i < 100; i++) a.publish(`${p}.seq`, enc(String(i)));
        await got.waitFor(100);
        expect(got.items).toEqual(Array.from({ length: 100 }, (_, i) => String(i)));
      });

      it('stops delivering after unsubscribe', async () => {
        const got = collector<string>();
        const sub = b.subscribe(`${p}.u`, (m) => got.push(dec(m.data)));
        await b.flush();
        a.publish(`${p}.u`, enc('1'));
        await got.waitFor(1);
        sub.unsubscribe();
        await b.flush();
        a.publish(`${p}.u`, enc('2'));
        // A message that would arrive does so within a round trip; wait two.
        await a.flush();
        await b.flush();
        await new Promise((r) => setTimeout(r, 50));
        expect(got.items).toEqual(['1']);
      });

      it('shares messages across a queue group: each goes to exactly one member', async () => {
        const one = collector<string>();
        const two = collector<string>();
        const all = collector<string>();
        a.subscribe(`${p}.work`, (m) => one.push(dec(m.data)), { queue: 'workers' });
        b.subscribe(`${p}.work`, (m) => two.push(dec(m.data)), { queue: 'workers' });
        b.subscribe(`${p}.work`, (m) => all.push(dec(m.data)));
        await a.flush();
        await b.flush();
        for (let i = 0; i < 40; i++) a.publish(`${p}.work`, enc(String(i)));
        await all.waitFor(40);
        await new Promise((r) => setTimeout(r, 50));
        expect(one.items.length + two.items.length).toBe(40);
        expect(new Set([...one.items, ...two.items]).size).toBe(40);
      });

      it('keeps a subscription alive when its handler throws or rejects', async () => {
        const got = collector<string>();
        let calls = 0;
        b.subscribe(`${p}.flaky`, async (m) => {
          calls++;
          if (calls === 1) throw new Error('boom (sync part of async handler)');
          if (calls === 2) return Promise.reject(new Error('boom (rejection)'));
          got.push(dec(m.data));
        });
        await b.flush();
        for (const s of ['1', '2', '3']) a.publish(`${p}.flaky`, enc(s));
        expect(await got.waitFor(1)).toEqual(['3']);
      });
    });

    describe('request / reply', () => {
      it('returns the reply of a responder', async () => {
        b.subscribe(`${p}.echo`, (m) => {
          m.respond(enc(`echo:${dec(m.data)}`));
        });
        await b.flush();
        const reply = await a.request(`${p}.echo`, enc('x'), { timeoutMs: 2_000 });
        expect(dec(reply.data)).toBe('echo:x');
      });

      it('fails fast with NoRespondersError when nobody listens', async () => {
        await expect(a.request(`${p}.nobody`, enc('x'), { timeoutMs: 2_000 })).rejects.toBeInstanceOf(NoRespondersError);
      });

      it('fails with RequestTimeoutError when the responder stays silent', async () => {
        b.subscribe(`${p}.silent`, () => undefined);
        await b.flush();
        await expect(a.request(`${p}.silent`, enc('x'), { timeoutMs: 150 })).rejects.toBeInstanceOf(RequestTimeoutError);
      });

      it('spreads requests across a queue group of responders', async () => {
        a.subscribe(`${p}.svc`, (m) => void m.respond(enc('a')), { queue: 'svc' });
        b.subscribe(`${p}.svc`, (m) => void m.respond(enc('b')), { queue: 'svc' });
        await a.flush();
        await b.flush();
        const answers = new Set<string>();
        for (let i = 0; i < 30; i++) answers.add(dec((await a.request(`${p}.svc`, enc('?'))).data));
        expect([...answers].sort()).toEqual(['a', 'b']);
      });
    });

    describe('kv buckets', () => {
      it('puts and gets across clients, with increasing revisions', async () => {
        const ka = await a.kv(`${p}kv`);
        const kb = await b.kv(`${p}kv`);
        const r1 = await ka.put('users.alice', enc('1'));
        const r2 = await ka.put('users.bob', enc('2'));
        expect(r2).toBeGreaterThan(r1);
        const e = await kb.get('users.alice');
        expect(e && dec(e.value)).toBe('1');
        expect(e?.revision).toBe(r1);
        expect(await kb.get('users.nobody')).toBeNull();
      });

      it('create succeeds once and then conflicts; works again after delete', async () => {
        const kv = await a.kv(`${p}kv`);
        await kv.create('k', enc('first'));
        await expect(kv.create('k', enc('second'))).rejects.toBeInstanceOf(KvConflictError);
        await kv.delete('k');
        expect(await kv.get('k')).toBeNull();
        await kv.create('k', enc('third'));
        expect(dec((await kv.get('k'))!.value)).toBe('third');
      });

      it('update is compare-and-set on the revision', async () => {
        const kv = await a.kv(`${p}kv`);
        const r1 = await kv.put('counter', enc('1'));
        const r2 = await kv.update('counter', enc('2'), r1);
        await expect(kv.update('counter', enc('stale'), r1)).rejects.toBeInstanceOf(KvConflictError);
        expect(dec((await kv.get('counter'))!.value)).toBe('2');
        expect((await kv.get('counter'))!.revision).toBe(r2);
      });

      it('lets exactly one of many concurrent CAS writers win each round', async () => {
        const ka = await a.kv(`${p}kv`);
        const kb = await b.kv(`${p}kv`);
        await ka.put('n', enc('0'));
        // 20 increments from two clients, each retrying on conflict: no increment may be lost.
        const increment = async (kv: typeof ka) => {
          for (;;) {
            const cur = (await kv.get('n'))!;
            try {
              await kv.update('n', enc(String(Number(dec(cur.value)) + 1)), cur.revision);
              return;
            } catch (err) {
              if (!(err instanceof KvConflictError)) throw err;
            }
          }
        };
        await Promise.all(Array.from({ length: 20 }, (_, i) => increment(i % 2 ? ka : kb)));
        expect(dec((await ka.get('n'))!.value)).toBe('20');
      });

      it('lists live keys, filtered by pattern', async () => {
        const kv = await a.kv(`${p}kv`);
        await kv.put('users.a', enc('1'));
        await kv.put('users.b', enc('1'));
        await kv.put('keys.x', enc('1'));
        await kv.delete('users.b');
        expect((await kv.keys('users.*')).sort()).toEqual(['users.a']);
        expect((await kv.keys()).sort()).toEqual(['keys.x', 'users.a']);
      });

      it('refuses keys that are not subject tokens', async () => {
        const kv = await a.kv(`${p}kv`);
        await expect(kv.put('has space', enc('1'))).rejects.toThrow(/invalid kv key/);
        await expect(kv.get('trailing.')).rejects.toThrow(/invalid kv key/);
      });

      it('watch delivers current values, then puts and deletes from other clients, in order', async () => {
        const ka = await a.kv(`${p}kv`);
        const kb = await b.kv(`${p}kv`);
        await ka.put('users.a', enc('1'));
        await ka.put('other.x', enc('no'));
        const changes = collector<KvChange>();
        const w = kb.watch((c) => changes.push(c), { key: 'users.*' });
        await w.ready;
        await changes.waitFor(1);
        await ka.put('users.b', enc('2'));
        await ka.put('users.a', enc('3'));
        await ka.delete('users.b');
        await changes.waitFor(4);
        w.stop();
        expect(changes.items.map((c) => [c.key, c.operation, dec(c.value)])).toEqual([
          ['users.a', 'put', '1'],
          ['users.b', 'put', '2'],
          ['users.a', 'put', '3'],
          ['users.b', 'delete', ''],
        ]);
        const revisions = changes.items.map((c) => c.revision);
        expect([...revisions].sort((x, y) => x - y)).toEqual(revisions);
      });

      it('watch with initial=false delivers only later changes', async () => {
        const kv = await a.kv(`${p}kv`);
        await kv.put('old', enc('1'));
        const changes = collector<KvChange>();
        const w = kv.watch((c) => changes.push(c), { initial: false });
        await w.ready;
        await kv.put('new', enc('2'));
        await changes.waitFor(1);
        await new Promise((r) => setTimeout(r, 50));
        w.stop();
        expect(changes.items.map((c) => c.key)).toEqual(['new']);
      });
    });

    describe('state', () => {
      it('reports connected, then closed after close()', async () => {
        const bus = await fixture.connect();
        expect(bus.state()).toBe('connected');
        const states: string[] = [];
        bus.onStateChange((s) => states.push(s));
        await bus.close();
        expect(bus.state()).toBe('closed');
        expect(states).toContain('closed');
      });
    });
  });
}
