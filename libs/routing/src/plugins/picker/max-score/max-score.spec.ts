import { Registry } from '../../../framework/registry';
import { context, engine, pluginEnv, request } from '../../../testing/fixtures';
import { type Picker } from '../../../framework/plugin';
import { maxScorePicker } from './max-score';

const picker = (params: object = {}) =>
  new Registry().register(maxScorePicker).instantiate('max-score', params, pluginEnv('max-score'), 'test') as Picker;
const three = [engine('e1', { running: 2 }), engine('e2', { running: 1 }), engine('e3', { running: 3 })];

describe('max-score', () => {
  it.each([
    // Highest score, whatever the load.
    [[0.2, 0.9, 0.5], three, 1],
    [[1, 0.9, 0.5], three, 0],
    // A tie between e1 and e3 (within 1e-9): e1 holds 2 requests, e3 3.
    [[0.7, 0.1, 0.7 + 1e-12], three, 0],
    // A tie where the less loaded candidate is stale: stale counts as saturated, so e3 (3 requests) wins.
    [[0.5, 0.5, 0.5], [engine('e1', { stale: true }), engine('e2', { running: 9 }), engine('e3', { running: 3 })], 2],
    // Capacity-aware tie-break: 4 requests on capacity 4 (1 per unit) beat 2 on capacity 1.
    [[0.5, 0.5], [engine('e1', { running: 2 }), engine('e2', { running: 4, capacity: 4 })], 1],
  ])('scores %j → index %i', (scores, candidates, expected) => {
    expect(picker().pick(request(), candidates, scores, context())).toBe(expected);
  });

  it('draws among exact ties from ctx.rng, reproducibly', () => {
    const idle = [engine('e1'), engine('e2'), engine('e3')];
    const draw = (seed: number) => picker().pick(request(), idle, [1, 1, 1], context(seed));
    const seen = new Set(Array.from({ length: 50 }, (_, seed) => draw(seed)));
    // Fifty seeds reach every tied candidate, and a seed always gives the same pick.
    expect([...seen].sort()).toEqual([0, 1, 2]);
    expect(draw(7)).toBe(draw(7));
  });
});
