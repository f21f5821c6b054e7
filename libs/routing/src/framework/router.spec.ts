import Type from 'typebox';
import { registerBuiltinPlugins } from '../plugins/register';
import { context, engine, request } from '../testing/fixtures';
import { type EngineView } from '../types';
import { type RoutingConfigInput } from './config';
import { NoEngineAvailableError, RoutingConfigError, RoutingPluginError, UnknownRoutingStrategyError } from './errors';
import { definePlugin, type FeedbackHooks, type RequestOutcome } from './plugin';
import { Registry } from './registry';
import { Router } from './router';

/** A scorer type whose scores come from a table by engine id (0 for engines not listed). */
function tableScorer(type: string, table: Record<string, number>) {
  return definePlugin({
    type,
    kind: 'scorer',
    summary: 'test: fixed scores by engine id',
    params: Type.Object({}),
    create: (_p, env) => ({
      kind: 'scorer',
      type,
      name: env.name,
      score: (_r, candidates) => candidates.map((e) => table[e.id] ?? 0),
      explain: (i) => `${type} #${i}`,
    }),
  });
}

/** A scorer type returning whatever `fn` computes, to break the score contract on purpose. */
function rawScorer(type: string, fn: (candidates: readonly EngineView[]) => ArrayLike<number>) {
  return definePlugin({
    type,
    kind: 'scorer',
    summary: 'test: arbitrary scores',
    params: Type.Object({}),
    create: (_p, env) => ({ kind: 'scorer', type, name: env.name, score: (_r, c) => fn(c) }),
  });
}

const three = [engine('e1'), engine('e2'), engine('e3')];

/** Registry with the built-in pickers plus test scorers a (rising) and b (falling). */
function testRegistry(): Registry {
  return registerBuiltinPlugins(new Registry())
    .register(tableScorer('a', { e1: 0.2, e2: 0.6, e3: 1.0 }))
    .register(tableScorer('b', { e1: 0.9, e2: 0.5, e3: 0.1 }));
}

const abConfig: RoutingConfigInput = {
  defaultStrategy: 'a',
  plugins: { a: { type: 'a' }, b: { type: 'b' }, 'max-score': { type: 'max-score' } },
  profiles: {
    a: { scorers: [{ plugin: 'a' }] },
    b: { scorers: [{ plugin: 'b' }] },
    'a3-b1': {
      scorers: [
        { plugin: 'a', weight: 3 },
        { plugin: 'b', weight: 1 },
      ],
    },
  },
};

describe('Router', () => {
  describe('weighted scoring arithmetic', () => {
    it.each([
      // Profile a alone: raw scores, highest wins.
      ['a', 'e3', 1.0],
      ['b', 'e1', 0.9],
      // One profile, two scorers: weighted mean without normalisation. e3 = (3·1.0 + 1·0.1) / 4 = 0.775;
      // e2 = (1.8 + 0.5) / 4 = 0.575; e1 = (0.6 + 0.9) / 4 = 0.375.
      ['a3-b1', 'e3', 0.775],
      // Combination: each strategy min–max normalised first — a → [0, 0.5, 1], b → [1, 0.5, 0] — then
      // weighted mean: e1 = (2·0 + 1·1) / 3 = 1/3, e2 = (2·0.5 + 0.5) / 3 = 0.5, e3 = (2·1 + 0) / 3 = 2/3.
      ['a:2,b:1', 'e3', 2 / 3],
      // Weights swapped: e1 = (0 + 2·1) / 3 = 2/3 wins.
      ['a:1,b:2', 'e1', 2 / 3],
    ])('%s picks %s with score %d', (strategy, expected, score) => {
      const router = new Router({ registry: testRegistry(), config: abConfig });
      const decision = router.route(request(), three, context(1), strategy);
      expect(decision.engine.id).toBe(expected);
      expect(decision.score).toBeCloseTo(score, 12);
      expect(decision.candidates).toBe(3);
    });

    it('breaks an exact tie by load: equal weights sum every engine to 0.5, and e2 is the only idle one', () => {
      const router = new Router({ registry: testRegistry(), config: abConfig });
      const engines = [engine('e1', { running: 1 }), engine('e2'), engine('e3', { running: 1 })];
      const decision = router.route(request(), engines, context(), 'a:1,b:1');
      expect(decision.engine.id).toBe('e2');
      expect(decision.score).toBeCloseTo(0.5, 12);
    });

    it('reports the canonical strategy name and the scorers’ reasons', () => {
      const router = new Router({ registry: testRegistry(), config: abConfig });
      const decision = router.route(request(), three, context(), ' A:2 , b ');
      expect(decision.strategy).toBe('a:2,b:1');
      // The chosen engine is index 2 (e3); both scorers explain themselves.
      expect(decision.reason).toBe('a #2; b #2');
      expect(router.resolveStrategy(' A:2 , b ')).toBe('a:2,b:1');
      expect(router.resolveStrategy(undefined)).toBe('a');
      expect(router.resolveStrategy('  ')).toBe('a');
    });
  });

  describe('eligibility', () => {
    it('never chooses an engine that is not ready, nor one of another model, whatever its score', () => {
      const router = new Router({ registry: testRegistry(), config: abConfig });
      // a scores e3 highest, but e3 is not ready and e2 serves another model: e1 is all that is left.
      const engines = [engine('e1'), engine('e2', { model: 'other' }), engine('e3', { ready: false })];
      const decision = router.route(request(), engines, context(), 'a');
      expect(decision.engine.id).toBe('e1');
      expect(decision.candidates).toBe(1);
    });

    it('answers 503 NoEngineAvailableError when no ready engine serves the model', () => {
      const router = new Router({ registry: testRegistry(), config: abConfig });
      const engines = [engine('e1', { ready: false }), engine('e2', { model: 'other' })];
      let error: unknown;
      try {
        router.route(request(), engines, context());
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(NoEngineAvailableError);
      const e = error as NoEngineAvailableError;
      expect(e.status).toBe(503);
      expect(e.code).toBe('no_capacity');
      expect(e.headers['retry-after']).toBe('1');
      expect(e.message).toBe('No ready engine serves model `m`.');
      expect(() => router.route(request(), [], context())).toThrow(NoEngineAvailableError);
    });

    it('answers 503 naming the filter that left no candidate', () => {
      const registry = testRegistry().register(
        definePlugin({
          type: 'drop-all',
          kind: 'filter',
          summary: 'test: keeps nothing',
          params: Type.Object({}),
          create: (_p, env) => ({ kind: 'filter', type: 'drop-all', name: env.name, filter: () => [] }),
        }),
      );
      const router = new Router({
        registry,
        config: {
          ...abConfig,
          plugins: { ...abConfig.plugins, none: { type: 'drop-all' } },
          profiles: { p: { filters: ['none'] } },
          defaultStrategy: 'p',
        },
      });
      expect(() => router.route(request(), three, context())).toThrow('No engine of model `m` passed routing filter `none`.');
    });
  });

  describe('unknown strategies', () => {
    it('throws UnknownRoutingStrategyError listing every valid name', () => {
      const router = new Router({ registry: testRegistry(), config: abConfig });
      expect(router.strategies).toEqual(['a', 'a3-b1', 'b']);
      let error: unknown;
      try {
        router.route(request(), three, context(), 'fastest');
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(UnknownRoutingStrategyError);
      expect((error as UnknownRoutingStrategyError).validStrategies).toEqual(['a', 'a3-b1', 'b']);
      expect((error as Error).message).toMatch(/^Unknown routing strategy `fastest`\. Valid strategies: a, a3-b1, b;/);
      expect((error as UnknownRoutingStrategyError).status).toBe(400);
    });
  });

  describe('plugin contract enforcement', () => {
    it.each([
      ['NaN', () => [NaN, 0.5, 0.5], /scored engine `e1` NaN; scores must be numbers in \[0, 1\]/],
      ['above 1', () => [0.5, 1.5, 0.5], /scored engine `e2` 1.5/],
      ['negative', () => [0.5, 0.5, -0.01], /scored engine `e3` -0.01/],
      ['infinite', () => [Infinity, 0, 0], /scored engine `e1` Infinity/],
      ['too few scores', () => [1, 1], /returned 2 scores for 3 candidates/],
    ])('fails loudly when a scorer returns %s', (_label, fn, message) => {
      const registry = registerBuiltinPlugins(new Registry()).register(rawScorer('bad', fn));
      const router = new Router({
        registry,
        config: {
          defaultStrategy: 'bad',
          plugins: { bad: { type: 'bad' }, 'max-score': { type: 'max-score' } },
          profiles: { bad: { scorers: [{ plugin: 'bad' }] } },
        },
      });
      expect(() => router.route(request(), three, context())).toThrow(RoutingPluginError);
      expect(() => router.route(request(), three, context())).toThrow(message);
    });

    it('fails loudly when a picker returns an index outside the candidates', () => {
      const registry = testRegistry().register(
        definePlugin({
          type: 'off-by-one',
          kind: 'picker',
          summary: 'test: picks past the end',
          params: Type.Object({}),
          create: (_p, env) => ({ kind: 'picker', type: 'off-by-one', name: env.name, pick: (_r, c) => c.length }),
        }),
      );
      const router = new Router({
        registry,
        config: {
          ...abConfig,
          plugins: { ...abConfig.plugins, obo: { type: 'off-by-one' } },
          profiles: { p: { picker: 'obo' } },
          defaultStrategy: 'p',
        },
      });
      expect(() => router.route(request(), three, context())).toThrow(/`obo`: picked index 3 of 3 candidates/);
    });

    it('fails loudly when a filter returns an engine that was not a candidate', () => {
      const registry = testRegistry().register(
        definePlugin({
          type: 'inventor',
          kind: 'filter',
          summary: 'test: invents an engine',
          params: Type.Object({}),
          create: (_p, env) => ({ kind: 'filter', type: 'inventor', name: env.name, filter: () => [engine('ghost')] }),
        }),
      );
      const router = new Router({
        registry,
        config: {
          ...abConfig,
          plugins: { ...abConfig.plugins, inv: { type: 'inventor' } },
          profiles: { p: { filters: ['inv'] } },
          defaultStrategy: 'p',
        },
      });
      expect(() => router.route(request(), three, context())).toThrow(/`inv`: returned engine `ghost` that was not a candidate/);
    });
  });

  describe('configuration errors', () => {
    it.each([
      [{ ...abConfig, plugins: { ...abConfig.plugins, x: { type: 'nope' } } }, /plugins\.x: unknown plugin type `nope`/],
      [
        { ...abConfig, plugins: { ...abConfig.plugins, lr: { type: 'least-request', params: { capacityAware: 'yes' } } } },
        /plugins\.lr\/capacityAware/,
      ],
      [
        { ...abConfig, profiles: { p: { scorers: [{ plugin: 'missing' }] } } },
        /profiles\.p\.scorers\.0: no plugin instance named `missing`/,
      ],
      [{ ...abConfig, profiles: { p: { filters: ['a'] } } }, /profiles\.p\.filters\.0: `a` is a scorer, not a filter/],
      [{ ...abConfig, profiles: { p: { scorers: [{ plugin: 'a', weight: -1 }] } } }, /must be >= 0/],
      [{ ...abConfig, profiles: { Bad_Name: {} } }, /profiles\.Bad_Name: a profile name must be kebab-case/],
      [{ ...abConfig, defaultStrategy: 'nope' }, /defaultStrategy: Unknown routing strategy `nope`/],
      [{ ...abConfig, plugins: { a: { type: 'a' } } }, /no plugin instance named `max-score`/],
      [{ ...abConfig, extra: true } as RoutingConfigInput, /extra: is not a known field/],
      [{ ...abConfig, profiles: {} }, /at least one profile is required/],
    ])('rejects an invalid configuration (%#)', (config, message) => {
      expect(() => new Router({ registry: testRegistry(), config })).toThrow(RoutingConfigError);
      expect(() => new Router({ registry: testRegistry(), config })).toThrow(message);
    });
  });

  describe('stage timings', () => {
    it('times each stage by plugin name through the injected timer, and only when one is given', () => {
      const registry = testRegistry().register(
        definePlugin({
          type: 'keep-all',
          kind: 'filter',
          summary: 'test: keeps everything and learns nothing',
          params: Type.Object({}),
          create: (_p, env) => ({
            kind: 'filter',
            type: 'keep-all',
            name: env.name,
            filter: (_r, c) => c,
            onRouted: () => undefined,
          }),
        }),
      );
      const config = {
        ...abConfig,
        plugins: { ...abConfig.plugins, keep: { type: 'keep-all' } },
        profiles: { p: { filters: ['keep'], scorers: [{ plugin: 'a' }] } },
        defaultStrategy: 'p',
      };
      let clock = 0;
      // Each reading advances 1 ms, so every stage measures exactly 1 ms.
      const router = new Router({ registry, config, timer: () => clock++ });
      expect(router.route(request(), three, context()).timings).toEqual([
        { stage: 'filter', plugin: 'keep', ms: 1 },
        { stage: 'scorer', plugin: 'a', ms: 1 },
        { stage: 'picker', plugin: 'max-score', ms: 1 },
        { stage: 'record', plugin: 'keep', ms: 1 },
      ]);
      expect(new Router({ registry, config }).route(request(), three, context()).timings).toEqual([]);
    });
  });

  describe('feedback hooks', () => {
    it('feeds every stateful instance and each shared state object once per event, whichever strategy routed', () => {
      const events: string[] = [];
      const recorder = (label: string): FeedbackHooks => ({
        onRouted: (r, e) => events.push(`${label} routed ${r.id} → ${e.id}`),
        onCompleted: (r, id, o: RequestOutcome) => events.push(`${label} completed ${r.id} on ${id} ok=${o.ok}`),
        onEngineRemoved: (id) => events.push(`${label} removed ${id}`),
      });
      const learner = definePlugin({
        type: 'learner',
        kind: 'scorer',
        summary: 'test: records events; two instances share one state object',
        params: Type.Object({}),
        create: (_p, env) => {
          env.shared('shared-log', () => recorder('shared'));
          return { kind: 'scorer', type: 'learner', name: env.name, score: (_r, c) => c.map(() => 0), ...recorder(env.name) };
        },
      });
      const router = new Router({
        registry: testRegistry().register(learner),
        config: { ...abConfig, plugins: { ...abConfig.plugins, l1: { type: 'learner' }, l2: { type: 'learner' } } },
      });
      // Routed by profile `a`, which uses neither learner: they still learn.
      const r = request({ id: 'q1' });
      const decision = router.route(r, three, context(), 'a');
      router.completed(r, decision.engine.id, { promptTokens: 100, completionTokens: 5, ok: true });
      router.engineRemoved('e3');
      expect(events.sort()).toEqual(
        [
          'shared routed q1 → e3',
          'l1 routed q1 → e3',
          'l2 routed q1 → e3',
          'shared completed q1 on e3 ok=true',
          'l1 completed q1 on e3 ok=true',
          'l2 completed q1 on e3 ok=true',
          'shared removed e3',
          'l1 removed e3',
          'l2 removed e3',
        ].sort(),
      );
    });
  });

  describe('determinism', () => {
    it.each(['random', 'power-of-two', 'least-request'])('%s makes the same choices from the same seed', (strategy) => {
      const engines = Array.from({ length: 8 }, (_, i) => engine(`e${i}`, { running: i % 3 }));
      const run = (seed: number) => {
        const router = new Router({ registry: registerBuiltinPlugins(new Registry()), config: builtinConfigFor(strategy) });
        const ctx = context(seed);
        return Array.from({ length: 40 }, () => router.route(request(), engines, ctx).engine.id);
      };
      expect(run(42)).toEqual(run(42));
    });

    it('random follows the seed: different seeds give different sequences', () => {
      const engines = Array.from({ length: 8 }, (_, i) => engine(`e${i}`));
      const run = (seed: number) => {
        const router = new Router({ registry: registerBuiltinPlugins(new Registry()), config: builtinConfigFor('random') });
        const ctx = context(seed);
        return Array.from({ length: 40 }, () => router.route(request(), engines, ctx).engine.id).join();
      };
      expect(run(1)).not.toBe(run(2));
    });
  });
});

/** A minimal config holding one built-in strategy and the default picker. */
function builtinConfigFor(strategy: string): RoutingConfigInput {
  return {
    defaultStrategy: strategy,
    plugins: { [strategy]: { type: strategy }, 'max-score': { type: 'max-score' } },
    profiles: { [strategy]: { scorers: [{ plugin: strategy }] } },
  };
}
