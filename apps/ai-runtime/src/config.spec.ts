import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, describeConfig, loadConfig } from '@brix/config';
import { runtimeSettings } from './config';

describe('ai-runtime settings', () => {
  it('defaults to the documented ports and scrape interval', () => {
    const c = loadConfig(runtimeSettings, { env: { BRIX_MODEL: 'm' } });
    expect(c).toMatchObject({
      port: 8080,
      engineUrl: 'http://127.0.0.1:8000',
      scrapeIntervalMs: 100,
      engineKind: 'auto',
      natsUrl: '',
      allowedSchemes: ['file', 'http', 'https', 's3', 'huggingface'],
      localRoots: [],
    });
  });

  it.each([
    [{}, 'BRIX_MODEL'],
    [{ BRIX_MODEL: 'm', BRIX_ENGINE_KIND: 'tgi' }, 'BRIX_ENGINE_KIND'],
    [{ BRIX_MODEL: 'm', BRIX_SCRAPE_INTERVAL_MS: '1' }, 'BRIX_SCRAPE_INTERVAL_MS'],
    [{ BRIX_MODEL: 'm', BRIX_ARTIFACT_ALLOWED_SCHEMES: 'https,ftp' }, 'BRIX_ARTIFACT_ALLOWED_SCHEMES'],
    [{ BRIX_MODEL: 'm', BRIX_ARTIFACT_LOCAL_ROOTS: 'models' }, 'BRIX_ARTIFACT_LOCAL_ROOTS'],
    [{ BRIX_MODEL: 'm', BRIX_ENGINE_URL: 'localhost:8000' }, 'BRIX_ENGINE_URL'],
  ])('refuses %j naming %s', (env, variable) => {
    let caught: unknown;
    try {
      loadConfig(runtimeSettings, { env });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).variable).toBe(variable);
  });

  it('is documented in the README exactly as declared', () => {
    // Prettier pads Markdown tables and escapes `*`; compare rows without either.
    const normalize = (text: string) =>
      text
        .split('\n')
        .map((line) =>
          line
            .trim()
            .replace(/\s*\|\s*/g, '|')
            .replace(/-{3,}/g, '---')
            .replace(/\\([*_])/g, '$1'),
        )
        .join('\n');
    const readme = normalize(readFileSync(join(__dirname, '..', 'README.md'), 'utf8'));
    expect(readme).toContain(normalize(describeConfig(runtimeSettings)));
  });
});
