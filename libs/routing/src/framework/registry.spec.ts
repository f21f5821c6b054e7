import Type from 'typebox';
import { pluginEnv } from '../testing/fixtures';
import { RoutingConfigError } from './errors';
import { definePlugin } from './plugin';
import { Registry } from './registry';

const echo = definePlugin({
  type: 'echo-params',
  kind: 'scorer',
  summary: 'test scorer that exposes its params through explain()',
  params: Type.Object(
    { limit: Type.Integer({ minimum: 1, default: 7 }), label: Type.Optional(Type.String()) },
    { additionalProperties: false },
  ),
  create: (params, env) => ({
    kind: 'scorer',
    type: 'echo-params',
    name: env.name,
    score: (_r, candidates) => candidates.map(() => 0),
    explain: () => JSON.stringify(params),
  }),
});

describe('Registry', () => {
  it('lists registered types by kind, sorted', () => {
    const registry = new Registry().register(echo);
    expect(registry.types()).toEqual(['echo-params']);
    expect(registry.types('scorer')).toEqual(['echo-params']);
    expect(registry.types('filter')).toEqual([]);
    expect(registry.get('echo-params')).toBe(echo);
  });

  it('refuses duplicate and non-kebab-case type ids', () => {
    const registry = new Registry().register(echo);
    expect(() => registry.register(echo)).toThrow(/already registered/);
    expect(() => new Registry().register({ ...echo, type: 'Echo_Params' })).toThrow(/kebab-case/);
  });

  it('applies parameter defaults before building the instance', () => {
    const plugin = new Registry().register(echo).instantiate('echo-params', undefined, pluginEnv('mine'), 'plugins.mine');
    expect(plugin.name).toBe('mine');
    // limit 7 is the schema default; label stays absent.
    expect(plugin.kind === 'scorer' && plugin.explain?.(0)).toBe('{"limit":7}');
  });

  it.each([
    [{ limit: 0 }, 'plugins.mine/limit', /must be >= 1/],
    [{ limit: 1.5 }, 'plugins.mine/limit', /integer/],
    [{ limt: 3 }, 'plugins.mine/limt', /is not a known field/],
  ])('rejects params %j naming the path', (params, path, message) => {
    const registry = new Registry().register(echo);
    let error: unknown;
    try {
      registry.instantiate('echo-params', params, pluginEnv('mine'), 'plugins.mine');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(RoutingConfigError);
    expect((error as RoutingConfigError).path).toBe(path);
    expect((error as Error).message).toMatch(message);
  });

  it('names the registered types when a type is unknown', () => {
    expect(() => new Registry().register(echo).instantiate('nope', {}, pluginEnv('x'), 'plugins.x')).toThrow(
      /unknown plugin type `nope` \(registered: echo-params\)/,
    );
  });

  it('does not let a factory build a plugin of another kind than it declares', () => {
    const liar = definePlugin({
      type: 'liar',
      kind: 'filter',
      summary: 'declares filter, builds a picker',
      params: Type.Object({}),
      create: (_p, env) => ({ kind: 'picker', type: 'liar', name: env.name, pick: () => 0 }) as never,
    });
    expect(() => new Registry().register(liar).instantiate('liar', {}, pluginEnv('l'), 'plugins.l')).toThrow(
      /declared kind filter/,
    );
  });
});
