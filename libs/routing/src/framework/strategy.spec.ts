import { UnknownRoutingStrategyError } from './errors';
import { parseStrategy } from './strategy';

const profiles = new Set(['least-request', 'prefix-cache', 'random']);

describe('parseStrategy', () => {
  it.each([
    // A bare profile name is that profile.
    ['prefix-cache', { kind: 'profile', name: 'prefix-cache' }],
    // Case and blanks around the value are ignored, as header values often carry them.
    ['  Least-Request ', { kind: 'profile', name: 'least-request' }],
    // One weighted item is just that profile: a weight alone changes nothing.
    ['random:3', { kind: 'profile', name: 'random' }],
    // The brief's example, weights kept as given.
    [
      'prefix-cache:2,least-request:1',
      {
        kind: 'combination',
        name: 'prefix-cache:2,least-request:1',
        terms: [
          { profile: 'prefix-cache', weight: 2 },
          { profile: 'least-request', weight: 1 },
        ],
      },
    ],
    // A missing weight means 1 (AIBrix's rule); blanks inside are tolerated.
    [
      'prefix-cache , least-request:0.5',
      {
        kind: 'combination',
        name: 'prefix-cache:1,least-request:0.5',
        terms: [
          { profile: 'prefix-cache', weight: 1 },
          { profile: 'least-request', weight: 0.5 },
        ],
      },
    ],
    // Weight 0 drops the item (AIBrix's rule), leaving a single profile.
    ['prefix-cache:0,least-request:2', { kind: 'profile', name: 'least-request' }],
  ])('parses %j', (expression, expected) => {
    expect(parseStrategy(expression, profiles)).toEqual(expected);
  });

  it.each([
    ['round-robin', /Unknown routing strategy `round-robin`\./],
    ['', /empty/],
    ['prefix-cache:2,nope:1', /Unknown routing strategy `nope` in/],
    ['prefix-cache:-1,random', /Weight `-1` of `prefix-cache` is not a non-negative number/],
    ['prefix-cache:abc', /Weight `abc`/],
    ['prefix-cache:1:2', /Malformed item/],
    ['random:1,random:2', /appears twice/],
    ['random:0,prefix-cache:0', /Every weight .* is zero/],
    ['x'.repeat(300), /longer than 256 characters/],
  ])('rejects %j with the list of valid names', (expression, message) => {
    let error: unknown;
    try {
      parseStrategy(expression, profiles);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(UnknownRoutingStrategyError);
    const e = error as UnknownRoutingStrategyError;
    expect(e.message).toMatch(message);
    expect(e.validStrategies).toEqual(['least-request', 'prefix-cache', 'random']);
    expect(e.message).toContain('Valid strategies: least-request, prefix-cache, random');
    // A client mistake: 400 with the catalogue's code, never a 500.
    expect(e.status).toBe(400);
    expect(e.toBody().error.code).toBe('unknown_routing_strategy');
  });
});
