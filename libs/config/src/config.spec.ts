import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Type from 'typebox';
import { ConfigError, describeConfig, loadConfig, setting } from './config';

const spec = {
  port: setting('BRIX_PORT', Type.Integer({ minimum: 1, maximum: 65535, default: 8888 }), 'port'),
  debug: setting('BRIX_DEBUG', Type.Boolean({ default: false }), 'debug'),
  ratio: setting('BRIX_RATIO', Type.Number({ minimum: 0, maximum: 1, default: 0.5 }), 'ratio'),
  mode: setting(
    'BRIX_MODE',
    Type.Union([Type.Literal('embedded'), Type.Literal('distributed')], { default: 'embedded' }),
    'mode',
  ),
  models: setting('BRIX_MODELS', Type.Array(Type.String({ minLength: 1 }), { default: [] }), 'models'),
  url: setting('BRIX_URL', Type.String({ default: '' }), 'url'),
};

describe('loadConfig', () => {
  it('applies defaults when nothing is set', () => {
    expect(loadConfig(spec, { env: {} })).toEqual({
      port: 8888,
      debug: false,
      ratio: 0.5,
      mode: 'embedded',
      models: [],
      url: '',
    });
  });

  it('converts env strings to the declared types', () => {
    const c = loadConfig(spec, {
      env: { BRIX_PORT: '9000', BRIX_DEBUG: 'true', BRIX_RATIO: '0.25', BRIX_MODE: 'distributed', BRIX_MODELS: 'a, b' },
    });
    expect(c).toMatchObject({ port: 9000, debug: true, ratio: 0.25, mode: 'distributed', models: ['a', 'b'] });
  });

  it.each([
    ['a non-number port', { BRIX_PORT: 'abc' }, /^invalid configuration: BRIX_PORT="abc" .*integer/],
    ['a port out of range', { BRIX_PORT: '70000' }, /^invalid configuration: BRIX_PORT="70000" must be <= 65535$/],
    ['a value outside the union', { BRIX_MODE: 'cloud' }, /^invalid configuration: BRIX_MODE="cloud"/],
    ['a ratio above 1', { BRIX_RATIO: '1.5' }, /^invalid configuration: BRIX_RATIO="1.5" must be <= 1$/],
    ['an empty list item', { BRIX_MODELS: 'a,,b' }, /^invalid configuration: BRIX_MODELS="a,,b" at \/1/],
  ])('fails with one line naming the variable for %s', (_case, env, message) => {
    let caught: unknown;
    try {
      loadConfig(spec, { env });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).message).toMatch(message);
    expect((caught as ConfigError).message).not.toContain('\n');
    expect((caught as ConfigError).variable).toBe(Object.keys(env)[0]);
  });

  it('reads a JSON file named by BRIX_CONFIG_FILE, and env overrides it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'brix-config-'));
    const file = join(dir, 'c.json');
    writeFileSync(file, JSON.stringify({ port: 7000, debug: true }));
    expect(loadConfig(spec, { env: { BRIX_CONFIG_FILE: file } })).toMatchObject({ port: 7000, debug: true });
    expect(loadConfig(spec, { env: { BRIX_CONFIG_FILE: file, BRIX_PORT: '7001' } })).toMatchObject({ port: 7001, debug: true });
  });

  it('names the file and the key when a file value is invalid', () => {
    const dir = mkdtempSync(join(tmpdir(), 'brix-config-'));
    const file = join(dir, 'c.json');
    writeFileSync(file, JSON.stringify({ port: 'x' }));
    expect(() => loadConfig(spec, { env: { BRIX_CONFIG_FILE: file } })).toThrow(/port="x" \(in .*c\.json\)/);
  });

  it('reports an unreadable config file as a config error', () => {
    expect(() => loadConfig(spec, { env: { BRIX_CONFIG_FILE: '/nonexistent/c.json' } })).toThrow(ConfigError);
  });

  it('documents settings as a Markdown table', () => {
    expect(describeConfig(spec)).toContain('| `BRIX_PORT` | `8888` | port |');
  });
});
