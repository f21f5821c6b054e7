import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, describeConfig, loadConfig } from '@brix/config';
import { VirtualClock } from '@brix/clock';
import { runtimeSettings, toArtifactOptions, toRuntimeSettings } from './config';

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
    [{ BRIX_MODEL: 'm', BRIX_KV_EVENTS_ENDPOINT: '127.0.0.1:5557' }, 'BRIX_KV_EVENTS_ENDPOINT'],
    [{ BRIX_MODEL: 'm', BRIX_KV_EVENTS_REPLAY_ENDPOINT: 'udp://x:1' }, 'BRIX_KV_EVENTS_REPLAY_ENDPOINT'],
    [{ BRIX_MODEL: 'm', BRIX_ADVERTISE_URL: 'sidecar:8080' }, 'BRIX_ADVERTISE_URL'],
    [{ BRIX_MODEL: 'm', BRIX_ADAPTER_POLL_INTERVAL_MS: '-1' }, 'BRIX_ADAPTER_POLL_INTERVAL_MS'],
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

  it.each([
    ['no KV-event endpoint: no bridge', {}, undefined],
    [
      'an endpoint without replay',
      { BRIX_KV_EVENTS_ENDPOINT: 'tcp://127.0.0.1:5557' },
      { endpoint: 'tcp://127.0.0.1:5557', topic: '', replayTimeoutMs: 1000 },
    ],
    [
      'an endpoint with replay and a topic',
      { BRIX_KV_EVENTS_ENDPOINT: 'tcp://e:5557', BRIX_KV_EVENTS_REPLAY_ENDPOINT: 'tcp://e:5558', BRIX_KV_EVENTS_TOPIC: 'kv' },
      { endpoint: 'tcp://e:5557', replayEndpoint: 'tcp://e:5558', topic: 'kv', replayTimeoutMs: 1000 },
    ],
  ])('maps %s into the runtime settings', (_case, env, kvEvents) => {
    const settings = toRuntimeSettings(loadConfig(runtimeSettings, { env: { BRIX_MODEL: 'm', ...env } }), 'pod-1');
    expect(settings.kvEvents).toEqual(kvEvents);
    expect(settings).toMatchObject({ model: 'm', pod: 'pod-1', adapterPollIntervalMs: 5000, engineRequestTimeoutMs: 60_000 });
    expect('sidecarUrl' in settings).toBe(false); // BRIX_ADVERTISE_URL unset
  });

  it('hands the artifact store its policy, and credentials only as Secrets', async () => {
    const config = loadConfig(runtimeSettings, {
      env: { BRIX_MODEL: 'm', BRIX_ARTIFACT_LOCAL_ROOTS: '/srv/adapters', HF_TOKEN: 'hf_config_secret' },
    });
    const options = toArtifactOptions(config, new VirtualClock());
    expect(options.policy).toMatchObject({ localRoots: ['/srv/adapters'], allowedBuckets: ['*'] });
    expect(JSON.stringify(options)).not.toContain('hf_config_secret');
    expect((await options.credentials!()).huggingFaceToken?.reveal()).toBe('hf_config_secret');
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
