import { formatLabelSelector, LabelSelectorError, matchesLabels, parseLabelSelector } from './label-selector';

const labels = { app: 'web', tier: 'front', 'brix.io/model': 'llama' };

describe('label selectors', () => {
  it.each([
    ['', true], // the empty selector selects everything
    ['app=web', true],
    ['app==web', true],
    ['app=db', false],
    ['app!=db', true],
    ['missing!=x', true], // != also matches objects without the key
    ['brix.io/model', true], // existence of a prefixed key
    ['!brix.io/model', false],
    ['!missing', true],
    ['missing', false],
    ['tier in (front, back)', true],
    ['tier in (back)', false],
    ['tier notin (back,side)', true],
    ['missing notin (x)', true], // notin also matches objects without the key
    ['app=web,tier in (front,back),!canary', true], // every requirement must hold
    ['app=web,tier=back', false],
    [' app = web , tier in ( front ) ', true], // whitespace around terms and values
  ])('%p against %j matches: %p', (selector, expected) => {
    expect(matchesLabels(parseLabelSelector(selector), labels)).toBe(expected);
  });

  it.each([['app in ()'], ['app in (a'], ['app=(x)'], ['a b'], ['app>1'], ['=web']])('refuses %p', (selector) => {
    expect(() => parseLabelSelector(selector)).toThrow(LabelSelectorError);
  });

  it('matches an object without labels only by absence', () => {
    expect(matchesLabels(parseLabelSelector('!app'), undefined)).toBe(true);
    expect(matchesLabels(parseLabelSelector('app'), undefined)).toBe(false);
  });

  it.each([
    [undefined, ''],
    [{ matchLabels: { app: 'web' } }, 'app=web'],
    [
      {
        matchLabels: { app: 'web' },
        matchExpressions: [
          { key: 'tier', operator: 'In' as const, values: ['b', 'a'] },
          { key: 'env', operator: 'NotIn' as const, values: ['dev'] },
          { key: 'gpu', operator: 'Exists' as const },
          { key: 'canary', operator: 'DoesNotExist' as const },
        ],
      },
      // Values sorted, as the API server renders them.
      'app=web,tier in (a,b),env notin (dev),gpu,!canary',
    ],
  ])('formats the structured selector %j as %p', (selector, text) => {
    expect(formatLabelSelector(selector)).toBe(text);
    // And the text form selects what the structured one does.
    expect(parseLabelSelector(text)).toHaveLength(text === '' ? 0 : text.split(/,(?![^(]*\))/).length);
  });
});
