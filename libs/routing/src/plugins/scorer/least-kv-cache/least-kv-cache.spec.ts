import { choose, engine } from '../../../testing/fixtures';
import { projectedKvUsage } from './least-kv-cache';

describe('least-kv-cache', () => {
  it.each([
    // Nothing waits: projected usage = usage, 30% on e2 is lowest.
    ['lowest KV usage', [engine('e1', { kvUsage: 0.8, running: 8 }), engine('e2', { kvUsage: 0.3, running: 3 })], 'e2'],
    // e1 uses 40% for 4 running requests with 4 more waiting → 80% projected; e2 60% with no queue → e2
    // (least-gpu-cache would pick e1).
    [
      'counts the KV its queue will need',
      [engine('e1', { kvUsage: 0.4, running: 4, waiting: 4 }), engine('e2', { kvUsage: 0.6, running: 6 })],
      'e2',
    ],
    ['stale counts as saturated', [engine('e1', { stale: true }), engine('e2', { kvUsage: 0.9, running: 9 })], 'e2'],
  ])('%s → %s', (_case, engines, expected) => {
    expect(choose('least-kv-cache', engines).engine.id).toBe(expected);
  });

  it.each([
    // No running batch: nothing to scale by, usage as reported.
    [{ kvUsage: 0.1, running: 0, waiting: 3 }, 0.1],
    // 0.5 × (2 + 2) / 2 = 1.0: the queue doubles the demand.
    [{ kvUsage: 0.5, running: 2, waiting: 2 }, 1],
    // Past 1 means the queue will not fit at once: 0.9 × 3 / 1 = 2.7.
    [{ kvUsage: 0.9, running: 1, waiting: 2 }, 2.7],
  ])('projects %j to %d', (fields, expected) => {
    expect(projectedKvUsage(engine('e', fields))).toBeCloseTo(expected, 12);
  });
});
