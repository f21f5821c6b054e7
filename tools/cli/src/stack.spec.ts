import { createServer, type Server } from 'node:net';
import { freePort } from '@brix/testing';
import { portAllocator } from './stack';

const listen = (port: number) =>
  new Promise<Server>((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(port, '127.0.0.1', () => resolve(s));
  });

/**
 * A free port whose next port this test holds. Other suites take ports in parallel: when the one above a free
 * port is already someone else's, another free port is tried.
 */
async function freePortBelowHeldOne(): Promise<{ base: number; busy: Server }> {
  for (let attempt = 0; ; attempt++) {
    const base = await freePort();
    try {
      return { base, busy: await listen(base + 1) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 20) throw err;
    }
  }
}

describe('portAllocator', () => {
  it('hands out free ports from the base, a preferred one when free, and never the same port twice', async () => {
    const { base, busy } = await freePortBelowHeldOne();
    const next = portAllocator('127.0.0.1', base);
    try {
      expect(await next()).toBe(base);
      // base + 1 is taken by another process: the next free one is handed out instead.
      const second = await next();
      expect(second).toBeGreaterThan(base + 1);
      // A preferred port (a sidecar lined up with its engine) is taken when free…
      expect(await next(base + 10)).toBe(base + 10);
      // …and when it was already given, the next free one after it.
      expect(await next(base + 10)).toBeGreaterThan(base + 10);
    } finally {
      busy.close();
    }
  });
});
