import { createRouter } from '../../../create-router';
import { choose, engine } from '../../../testing/fixtures';

describe('session-affinity', () => {
  it('pins a new session to the least loaded engine and keeps it there regardless of load', () => {
    const router = createRouter();
    const first = choose(
      'session-affinity',
      [engine('e1', { running: 3 }), engine('e2', { running: 1 })],
      { sessionId: 's1' },
      router,
    );
    expect([first.engine.id, first.reason]).toEqual(['e2', 'new session; least loaded']);
    // e2 is now the busier engine, but the session stays.
    const next = choose('session-affinity', [engine('e1'), engine('e2', { running: 9 })], { sessionId: 's1' }, router);
    expect([next.engine.id, next.reason]).toEqual(['e2', 'session pinned here']);
  });

  it('re-pins when the engine is no longer ready, and stays on the new one after', () => {
    const router = createRouter();
    choose('session-affinity', [engine('e1', { running: 1 }), engine('e2')], { sessionId: 's1' }, router);
    // e2 is not ready: the least loaded ready engine among e1, e3 is e3.
    const moved = choose(
      'session-affinity',
      [engine('e1', { running: 1 }), engine('e2', { ready: false }), engine('e3')],
      { sessionId: 's1' },
      router,
    );
    expect([moved.engine.id, moved.reason]).toEqual(['e3', 'session engine unavailable; re-pinned to least loaded']);
    // e2 is back and idle; the session now belongs to e3.
    const back = choose('session-affinity', [engine('e2'), engine('e3', { running: 2 })], { sessionId: 's1' }, router);
    expect(back.engine.id).toBe('e3');
  });

  it.each([
    // Without a session id it is least-request.
    ['no session id → least loaded', {}, 'e2'],
    // Another session is not affected by s1's pin on e1.
    ['another session → least loaded', { sessionId: 's2' }, 'e2'],
  ])('%s', (_case, fields, expected) => {
    const router = createRouter();
    choose('session-affinity', [engine('e1')], { sessionId: 's1' }, router);
    expect(choose('session-affinity', [engine('e1', { running: 2 }), engine('e2')], fields, router).engine.id).toBe(expected);
  });

  it('forgets pins to a removed engine', () => {
    const router = createRouter();
    choose('session-affinity', [engine('e1')], { sessionId: 's1' }, router);
    router.engineRemoved('e1');
    expect(choose('session-affinity', [engine('e1', { running: 2 }), engine('e2')], { sessionId: 's1' }, router).reason).toBe(
      'new session; least loaded',
    );
  });

  it('remembers at most maxSessions sessions', () => {
    const router = createRouter({
      config: { plugins: { 'session-affinity': { type: 'session-affinity', params: { maxSessions: 1 } } } },
    });
    choose('session-affinity', [engine('e1')], { sessionId: 's1' }, router);
    choose('session-affinity', [engine('e2')], { sessionId: 's2' }, router);
    // s1 was evicted by s2: it is a new session again and goes to the least loaded engine, e2.
    const decision = choose('session-affinity', [engine('e1', { running: 1 }), engine('e2')], { sessionId: 's1' }, router);
    expect([decision.engine.id, decision.reason]).toEqual(['e2', 'new session; least loaded']);
  });
});
