import { ConfigError } from '@brix/config';
import { resolveEngineConfig } from '@brix/engine-model';
import {
  catalogueModelId,
  engineConfigFrom,
  flagsToEnv,
  loadSimConfig,
  parseLoraModules,
  resolveKvEventsConfig,
  runtimeLoraUpdatingEnabled,
} from './config';

describe('engine-sim configuration', () => {
  it('has vLLM defaults: port 8000, Llama-3-8B on an H100, 20 ms frontend latency, real time, exact tokens', () => {
    const c = loadSimConfig([], {});
    expect(c).toMatchObject({
      port: 8000,
      model: 'llama-3-8b',
      gpu: 'H100',
      frontendLatencyMs: 20,
      timeScale: 1,
      estimateTokens: false,
      vllmVersion: '0.11',
      enablePrefixCaching: true,
      errorRate: 0,
      errorStatus: 500,
    });
  });

  it.each([
    { argv: ['--port', '9000'], env: { BRIX_PORT: '9000' } },
    { argv: ['--port=9000'], env: { BRIX_PORT: '9000' } },
    { argv: ['--enable-lora'], env: { BRIX_SIM_ENABLE_LORA: 'true' } },
    { argv: ['--no-enable-prefix-caching'], env: { BRIX_SIM_ENABLE_PREFIX_CACHING: 'false' } },
    { argv: ['meta-llama/Meta-Llama-3-8B-Instruct'], env: { BRIX_SIM_MODEL: 'meta-llama/Meta-Llama-3-8B-Instruct' } },
    // vLLM's nargs: several values after one flag, or repeated flags
    {
      argv: ['--lora-modules', 'a=/p/a', 'b=/p/b', '--seed', '3'],
      env: { BRIX_SIM_LORA_MODULES: '["a=/p/a","b=/p/b"]', BRIX_SIM_SEED: '3' },
    },
    { argv: ['--served-model-name', 'x', '--served-model-name', 'y'], env: { BRIX_SIM_SERVED_MODEL_NAME: '["x","y"]' } },
    {
      argv: ['--kv-events-config', '{"enable_kv_cache_events":true}'],
      env: { BRIX_SIM_KV_EVENTS_CONFIG: '{"enable_kv_cache_events":true}' },
    },
  ])('maps $argv to the environment', ({ argv, env }) => {
    expect(flagsToEnv(argv)).toEqual(env);
  });

  it('lets flags win over the environment', () => {
    const c = loadSimConfig(['--max-num-seqs', '8', '--time-scale', '0'], { BRIX_SIM_MAX_NUM_SEQS: '4', BRIX_SIM_GPU: 'A10' });
    expect(c).toMatchObject({ maxNumSeqs: 8, gpu: 'A10', timeScale: 0 });
  });

  it.each([
    { argv: ['--bogus'], message: /unknown flag --bogus/ },
    { argv: ['--port'], message: /--port needs a value/ },
    { argv: ['--port', 'eighty'], message: /--port=/ },
    { argv: ['--error-rate', '1.5'], message: /--error-rate=/ },
    { argv: ['--error-status', '404'], message: /--error-status=/ },
    { argv: ['--vllm-version', '0.9'], message: /--vllm-version=/ },
    { argv: ['a', 'b'], message: /unexpected argument "b"/ },
  ])('refuses $argv with one line naming the flag', ({ argv, message }) => {
    expect(() => loadSimConfig(argv, {})).toThrow(ConfigError);
    expect(() => loadSimConfig(argv, {})).toThrow(message);
  });

  it('reads VLLM_ALLOW_RUNTIME_LORA_UPDATING as vLLM does', () => {
    expect(['1', 'true', 'True', ' TRUE '].map(runtimeLoraUpdatingEnabled)).toEqual([true, true, true, true]);
    expect(['', '0', 'false', 'yes'].map(runtimeLoraUpdatingEnabled)).toEqual([false, false, false, false]);
  });

  describe('--kv-events-config', () => {
    it.each([
      // vLLM's publisher default: "null" up to 0.11.0, "zmq" (when enabled) from 0.11.1
      { json: '{"enable_kv_cache_events":true}', version: '0.11', publisher: 'null' },
      { json: '{"enable_kv_cache_events":true}', version: '0.12', publisher: 'zmq' },
      { json: '{"enable_kv_cache_events":true,"publisher":"zmq"}', version: '0.10', publisher: 'zmq' },
      { json: '', version: '0.12', publisher: 'null' },
    ] as const)('$json on $version publishes with "$publisher"', ({ json, version, publisher }) => {
      expect(resolveKvEventsConfig(json, version).publisher).toBe(publisher);
    });

    it('applies vLLM defaults and keeps given fields', () => {
      expect(
        resolveKvEventsConfig('{"enable_kv_cache_events":true,"publisher":"zmq","topic":"kv","unknown_future_field":1}', '0.11'),
      ).toEqual({
        enabled: true,
        publisher: 'zmq',
        endpoint: 'tcp://*:5557',
        replayEndpoint: null,
        bufferSteps: 10_000,
        hwm: 100_000,
        maxQueueSize: 100_000,
        topic: 'kv',
      });
    });

    it.each(['{not json', '{"publisher":"kafka"}', '{"hwm":-1}'])('refuses %s', (json) => {
      expect(() => resolveKvEventsConfig(json, '0.11')).toThrow(ConfigError);
    });
  });

  describe('engine configuration', () => {
    it('finds catalogue models by id or Hugging Face name', () => {
      expect(catalogueModelId('llama-3-8b')).toBe('llama-3-8b');
      expect(catalogueModelId('Qwen/Qwen2.5-7B-Instruct')).toBe('qwen2.5-7b');
      expect(() => catalogueModelId('gpt-2')).toThrow(/unknown model "gpt-2"/);
    });

    it('passes vLLM flags to the engine model and leaves unset numbers to vLLM defaults', () => {
      const c = loadSimConfig(
        ['--gpu-type', 'A10', '--num-gpu-blocks-override', '1000', '--max-model-len', '4096', '--lora-modules', 'sql=/a/sql'],
        {},
      );
      const e = resolveEngineConfig(engineConfigFrom(c));
      expect(e).toMatchObject({
        numGpuBlocks: 1000,
        maxModelLen: 4096,
        enableLora: true,
        loraModules: ['sql'],
        frontendLatencyMs: 20,
        // A10 (<70 GiB): vLLM serve defaults 256 sequences and 2048 batched tokens
        maxNumSeqs: 256,
        maxNumBatchedTokens: 2048,
      });
      expect(parseLoraModules(c.loraModules)).toEqual([{ name: 'sql', path: '/a/sql' }]);
    });
  });
});
