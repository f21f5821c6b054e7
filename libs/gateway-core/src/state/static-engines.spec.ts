import { ConfigError } from '@brix/config';
import { parseStaticEngines } from './static-engines';

describe('parseStaticEngines', () => {
  it('reads model=url pairs and names engines per model in order', () => {
    expect(parseStaticEngines('llama=http://127.0.0.1:8000/, llama=http://127.0.0.1:8001,qwen2.5=http://h:1')).toEqual([
      { id: 'llama-0', model: 'llama', url: 'http://127.0.0.1:8000', ready: true, labels: {} },
      { id: 'llama-1', model: 'llama', url: 'http://127.0.0.1:8001', ready: true, labels: {} },
      { id: 'qwen2-5-0', model: 'qwen2.5', url: 'http://h:1', ready: true, labels: {} },
    ]);
  });

  it('reads a JSON list with ids, GPU types and sidecars', () => {
    expect(
      parseStaticEngines('[{"id":"a","model":"m","url":"http://x:1","gpuType":"H100","sidecarUrl":"http://x:8080"}]'),
    ).toEqual([
      { id: 'a', model: 'm', url: 'http://x:1', ready: true, labels: {}, gpuType: 'H100', sidecarUrl: 'http://x:8080' },
    ]);
  });

  it.each([
    ['a pair without =', 'llama', /entry "llama"/],
    ['a URL without scheme', 'llama=127.0.0.1:8000', /not model=http/],
    ['broken JSON', '[{"model":', /not valid JSON/],
    ['a JSON entry without url', '[{"model":"m"}]', /BRIX_ENGINES/],
  ])('rejects %s with a config error naming the variable', (_case, text, message) => {
    expect(() => parseStaticEngines(text)).toThrow(ConfigError);
    expect(() => parseStaticEngines(text)).toThrow(message);
  });

  it('is empty for an empty setting', () => {
    expect(parseStaticEngines('  ')).toEqual([]);
  });
});
