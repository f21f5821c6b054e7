import { context, engine, request as routingRequest } from '@brix/routing/testing';
import { roundRobinPolicy } from './round-robin';

const view = (id: string) => engine(id);
const request = routingRequest();
const ctx = context();

describe('round-robin', () => {
  it.each([
    // every engine offered each time: a plain cycle
    [
      'all offered',
      [
        ['a', 'b', 'c'],
        ['a', 'b', 'c'],
        ['a', 'b', 'c'],
        ['a', 'b', 'c'],
      ],
      ['a', 'b', 'c', 'a'],
    ],
    // b missing on the 2nd request: c serves it, and the cycle resumes after c (a), not at b
    [
      'one skipped',
      [
        ['a', 'b', 'c'],
        ['a', 'c'],
        ['a', 'b', 'c'],
        ['a', 'b', 'c'],
      ],
      ['a', 'c', 'a', 'b'],
    ],
    // a single candidate always wins, whatever the turn
    ['single candidate', [['a', 'b'], ['b'], ['b'], ['a', 'b']], ['a', 'b', 'b', 'a']],
  ])('%s', (_name, offers, expected) => {
    const policy = roundRobinPolicy();
    const chosen = offers.map((ids) => policy.route(request, ids.map(view), ctx));
    expect(chosen).toEqual(expected);
  });

  it('drops a removed engine from the cycle without skipping the next one', () => {
    const policy = roundRobinPolicy();
    const all = ['a', 'b', 'c'].map(view);
    expect(policy.route(request, all, ctx)).toBe('a');
    expect(policy.route(request, all, ctx)).toBe('b');
    policy.engineRemoved!('a');
    const left = ['b', 'c'].map(view);
    // c was next before a left, and stays next
    expect([policy.route(request, left, ctx), policy.route(request, left, ctx), policy.route(request, left, ctx)]).toEqual([
      'c',
      'b',
      'c',
    ]);
  });
});
