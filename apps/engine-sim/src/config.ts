import { ConfigError, type ConfigOf, commonSettings, loadConfig, setting } from '@brix/config';
import { type EngineConfig, type ModelSpec, modelCatalog } from '@brix/engine-model';
import Type, { type Static } from 'typebox';
import { Compile } from 'typebox/compile';
import { FaultSettings } from './faults';

/** vLLM release lines whose wire protocol engine-sim can emulate (metric names, `/version`, KV-event defaults). */
export const VLLM_VERSIONS = ['0.10', '0.11', '0.12'] as const;
export type VllmVersion = (typeof VLLM_VERSIONS)[number];

/** The `/version` answer of each emulated line. */
export const VLLM_RELEASE: Record<VllmVersion, string> = { '0.10': '0.10.2', '0.11': '0.11.0', '0.12': '0.12.0' };

const int0 = () => Type.Integer({ minimum: 0, default: 0 });

/**
 * Every setting of engine-sim: environment variable, schema with default, meaning. Each one can also be given
 * as a command-line flag (see {@link SIM_FLAGS}); flags win over the environment. `apps/engine-sim/README.md`
 * lists them.
 */
export const simSettings = {
  host: commonSettings.host,
  logLevel: commonSettings.logLevel,
  adminToken: commonSettings.adminToken,
  port: setting('BRIX_PORT', Type.Integer({ minimum: 0, maximum: 65535, default: 8000 }), 'port to listen on (vLLM: 8000)'),
  model: setting(
    'BRIX_SIM_MODEL',
    Type.String({ minLength: 1, default: 'llama-3-8b' }),
    'catalogue model id (llama-3-8b, llama-3.1-8b, llama-3-70b, qwen2.5-7b, qwen2.5-0.5b, deepseek-coder-6.7b, mistral-7b) or its Hugging Face repository name',
  ),
  servedModelNames: setting(
    'BRIX_SIM_SERVED_MODEL_NAME',
    Type.Array(Type.String({ minLength: 1 }), { default: [] }),
    'names the model answers to (the first is the `model_name` metric label); empty = the --model value',
  ),
  gpu: setting(
    'BRIX_SIM_GPU',
    Type.String({ minLength: 1, default: 'H100' }),
    'catalogue GPU id (A10, L4, L20, L40S, V100, A100-40GB, A100-80GB, A100-80GB-PCIe, H100, H200, RTX-4090)',
  ),
  tensorParallelSize: setting('BRIX_SIM_TENSOR_PARALLEL_SIZE', Type.Integer({ minimum: 1, default: 1 }), 'GPUs per engine'),
  maxNumSeqs: setting(
    'BRIX_SIM_MAX_NUM_SEQS',
    int0(),
    'batch limit; 0 = vLLM default for the GPU (1024 on ≥70 GiB non-A100, else 256)',
  ),
  maxNumBatchedTokens: setting(
    'BRIX_SIM_MAX_NUM_BATCHED_TOKENS',
    int0(),
    'token budget per step; 0 = vLLM default (8192 on ≥70 GiB non-A100, else 2048)',
  ),
  maxModelLen: setting('BRIX_SIM_MAX_MODEL_LEN', int0(), "context length; 0 = the model's max_position_embeddings"),
  blockSize: setting('BRIX_SIM_BLOCK_SIZE', Type.Integer({ minimum: 1, default: 16 }), 'tokens per KV block'),
  gpuMemoryUtilization: setting(
    'BRIX_SIM_GPU_MEMORY_UTILIZATION',
    Type.Number({ exclusiveMinimum: 0, maximum: 1, default: 0.9 }),
    'fraction of GPU memory vLLM may use',
  ),
  numGpuBlocksOverride: setting(
    'BRIX_SIM_NUM_GPU_BLOCKS_OVERRIDE',
    int0(),
    'KV blocks, replacing the derived count; 0 = derived',
  ),
  enablePrefixCaching: setting('BRIX_SIM_ENABLE_PREFIX_CACHING', Type.Boolean({ default: true }), 'automatic prefix caching'),
  enableLora: setting('BRIX_SIM_ENABLE_LORA', Type.Boolean({ default: false }), 'serve LoRA adapters'),
  maxLoras: setting('BRIX_SIM_MAX_LORAS', Type.Integer({ minimum: 1, default: 1 }), 'distinct adapters in one batch'),
  maxCpuLoras: setting('BRIX_SIM_MAX_CPU_LORAS', int0(), 'adapters kept loaded (LRU); 0 = max-loras'),
  loraModules: setting(
    'BRIX_SIM_LORA_MODULES',
    Type.Array(Type.String({ pattern: '^[^=\\s]+=\\S+$' }), { default: [] }),
    'adapters loaded at start, as name=path (turns LoRA on)',
  ),
  seed: setting('BRIX_SIM_SEED', Type.Integer({ default: 0 }), 'seeds output lengths, generated tokens and fault draws'),
  prefixHashSeed: setting(
    'BRIX_SIM_PREFIX_HASH_SEED',
    Type.Integer({ default: 0 }),
    "root of the prefix-cache hash chain (vLLM's NONE_HASH); equal seeds give equal block hashes across engines",
  ),
  kvEventsConfig: setting(
    'BRIX_SIM_KV_EVENTS_CONFIG',
    Type.String({ default: '' }),
    'KV-cache events as vLLM\'s --kv-events-config JSON, e.g. {"enable_kv_cache_events":true,"publisher":"zmq"}',
  ),
  allowRuntimeLoraUpdating: setting(
    'VLLM_ALLOW_RUNTIME_LORA_UPDATING',
    Type.String({ default: '' }),
    "vLLM's switch for /v1/load_lora_adapter and /v1/unload_lora_adapter: 1 or true enables them",
  ),
  enableForceIncludeUsage: setting(
    'BRIX_SIM_ENABLE_FORCE_INCLUDE_USAGE',
    Type.Boolean({ default: false }),
    'streams end with a usage chunk even without stream_options',
  ),
  enablePromptTokensDetails: setting(
    'BRIX_SIM_ENABLE_PROMPT_TOKENS_DETAILS',
    Type.Boolean({ default: false }),
    'usage carries prompt_tokens_details.cached_tokens (prefix-cache hits)',
  ),
  vllmVersion: setting(
    'BRIX_SIM_VLLM_VERSION',
    Type.Union([Type.Literal('0.10'), Type.Literal('0.11'), Type.Literal('0.12')], { default: '0.11' }),
    'vLLM line to emulate: metric names (0.10 old+new, 0.11 new with hidden old, 0.12 new only), /version, KV-event publisher default',
  ),
  showHiddenMetricsForVersion: setting(
    'BRIX_SIM_SHOW_HIDDEN_METRICS_FOR_VERSION',
    Type.String({ default: '', pattern: '^(|\\d+\\.\\d+)$' }),
    "vLLM's --show-hidden-metrics-for-version: shows metrics deprecated in that version (0.10 on 0.11, 0.11 on 0.12)",
  ),
  timeScale: setting(
    'BRIX_SIM_TIME_SCALE',
    Type.Number({ minimum: 0, default: 1 }),
    'wall seconds per simulated second: 1 real time, 0.1 ten times faster, 0 no wall time at all (benchmark only)',
  ),
  estimateTokens: setting(
    'BRIX_SIM_ESTIMATE_TOKENS',
    Type.Boolean({ default: false }),
    'replace BPE tokenization by UTF-8 bytes / 4 token ids derived from the bytes (benchmark only: counts are estimates)',
  ),
  frontendLatencyMs: setting(
    'BRIX_SIM_FRONTEND_LATENCY_MS',
    Type.Number({ minimum: 0, default: 20 }),
    "modelled API-server time before a request reaches the engine, ms (vLLM V1's measured ≈20 ms)",
  ),
  adapterLoadMs: setting('BRIX_SIM_ADAPTER_LOAD_MS', Type.Number({ minimum: 0, default: 50 }), 'modelled LoRA load time, ms'),
  embeddingSize: setting(
    'BRIX_SIM_EMBEDDING_SIZE',
    int0(),
    "length of /v1/embeddings vectors; 0 = the model's hidden size (4096 for Llama-3-8B)",
  ),
  maxBodyBytes: setting(
    'BRIX_SIM_MAX_BODY_BYTES',
    Type.Integer({ minimum: 1024, default: 64 * 1024 * 1024 }),
    'largest request body accepted (vLLM has no limit; this only guards memory)',
  ),
  startupDelayMs: setting(
    'BRIX_SIM_STARTUP_DELAY_MS',
    Type.Number({ minimum: 0, default: 0 }),
    'fault: /health answers 503 (and inference 503) for this long after start, wall ms',
  ),
  errorRate: setting(
    'BRIX_SIM_ERROR_RATE',
    FaultSettings.properties.errorRate,
    'fault: fraction of inference requests answered with an error',
  ),
  errorStatus: setting(
    'BRIX_SIM_ERROR_STATUS',
    FaultSettings.properties.errorStatus,
    'fault: status of injected errors (500 or 503)',
  ),
  latencySpikeRate: setting(
    'BRIX_SIM_LATENCY_SPIKE_RATE',
    FaultSettings.properties.latencySpikeRate,
    'fault: fraction of inference requests held back before they reach the engine',
  ),
  latencySpikeMs: setting(
    'BRIX_SIM_LATENCY_SPIKE_MS',
    FaultSettings.properties.latencySpikeMs,
    'fault: how long a spiked request is held, simulated ms (adds to its TTFT)',
  ),
  stalled: setting(
    'BRIX_SIM_STALL',
    FaultSettings.properties.stalled,
    'fault: the engine stops stepping and /health answers 503',
  ),
  crashAfterRequests: setting(
    'BRIX_SIM_CRASH_AFTER_REQUESTS',
    FaultSettings.properties.crashAfterRequests,
    'fault: the process exits (code 1) when inference request N+1 arrives; 0 = never',
  ),
};

export type SimConfig = ConfigOf<typeof simSettings>;

/** Command-line flag of each setting (vLLM's names where vLLM has the option). */
export const SIM_FLAGS: Record<keyof typeof simSettings, string | null> = {
  host: '--host',
  logLevel: '--log-level',
  adminToken: null, // a secret: environment only
  port: '--port',
  model: '--model',
  servedModelNames: '--served-model-name',
  gpu: '--gpu-type',
  tensorParallelSize: '--tensor-parallel-size',
  maxNumSeqs: '--max-num-seqs',
  maxNumBatchedTokens: '--max-num-batched-tokens',
  maxModelLen: '--max-model-len',
  blockSize: '--block-size',
  gpuMemoryUtilization: '--gpu-memory-utilization',
  numGpuBlocksOverride: '--num-gpu-blocks-override',
  enablePrefixCaching: '--enable-prefix-caching',
  enableLora: '--enable-lora',
  maxLoras: '--max-loras',
  maxCpuLoras: '--max-cpu-loras',
  loraModules: '--lora-modules',
  seed: '--seed',
  prefixHashSeed: '--prefix-hash-seed',
  kvEventsConfig: '--kv-events-config',
  allowRuntimeLoraUpdating: null, // vLLM reads it from the environment only
  enableForceIncludeUsage: '--enable-force-include-usage',
  enablePromptTokensDetails: '--enable-prompt-tokens-details',
  vllmVersion: '--vllm-version',
  showHiddenMetricsForVersion: '--show-hidden-metrics-for-version',
  timeScale: '--time-scale',
  estimateTokens: '--estimate-tokens',
  frontendLatencyMs: '--frontend-latency-ms',
  adapterLoadMs: '--adapter-load-ms',
  embeddingSize: '--embedding-size',
  maxBodyBytes: '--max-body-bytes',
  startupDelayMs: '--startup-delay-ms',
  errorRate: '--error-rate',
  errorStatus: '--error-status',
  latencySpikeRate: '--latency-spike-rate',
  latencySpikeMs: '--latency-spike-ms',
  stalled: '--stall',
  crashAfterRequests: '--crash-after-requests',
};

type Key = keyof typeof simSettings;

function schemaType(key: Key): string | undefined {
  return (simSettings[key].schema as { type?: string }).type;
}

/**
 * Turns command-line arguments into environment overrides (flag → its setting's variable), so flags and
 * environment go through one validation. Accepts `--flag value`, `--flag=value`, boolean `--flag` and
 * `--no-flag`, several values after a list flag (`--lora-modules a=/p b=/q`, as vLLM's nargs), and one
 * positional argument as the model (`engine-sim llama-3-8b`, as `vllm serve <model>`).
 * Throws {@link ConfigError} on an unknown flag or a missing value.
 */
export function flagsToEnv(argv: readonly string[]): Record<string, string> {
  const byFlag = new Map<string, Key>();
  for (const [key, flag] of Object.entries(SIM_FLAGS) as Array<[Key, string | null]>) if (flag) byFlag.set(flag, key);
  const out: Record<string, string> = {};
  const lists = new Map<Key, string[]>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) {
      if (out[simSettings.model.env] !== undefined) throw new ConfigError('argv', `unexpected argument "${arg}"`);
      out[simSettings.model.env] = arg;
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq >= 0 ? arg.slice(0, eq) : arg;
    const inline = eq >= 0 ? arg.slice(eq + 1) : undefined;
    let key = byFlag.get(name);
    let negated = false;
    if (!key && name.startsWith('--no-')) {
      key = byFlag.get(`--${name.slice(5)}`);
      negated = key !== undefined && schemaType(key) === 'boolean';
      if (!negated) key = undefined;
    }
    if (!key) throw new ConfigError('argv', `unknown flag ${name}; see apps/engine-sim/README.md for the flags`);
    const env = simSettings[key].env;
    const type = schemaType(key);
    if (type === 'boolean') {
      out[env] = negated ? 'false' : (inline ?? 'true');
      continue;
    }
    if (type === 'array') {
      const values = lists.get(key) ?? [];
      if (inline !== undefined) values.push(...inline.split(','));
      else while (i + 1 < argv.length && !argv[i + 1]!.startsWith('--')) values.push(...argv[++i]!.split(','));
      if (values.length === 0) throw new ConfigError(env, `flag ${name} needs a value`);
      lists.set(key, values);
      out[env] = JSON.stringify(values.filter((v) => v !== ''));
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined) throw new ConfigError(env, `flag ${name} needs a value`);
    out[env] = value;
  }
  return out;
}

/** Loads the configuration from flags and environment (flags win). Errors name the flag when a flag set it. */
export function loadSimConfig(argv: readonly string[], env: NodeJS.ProcessEnv): SimConfig {
  const fromFlags = flagsToEnv(argv);
  try {
    return loadConfig(simSettings, { env: { ...env, ...fromFlags } });
  } catch (err) {
    if (err instanceof ConfigError && fromFlags[err.variable] !== undefined) {
      const key = (Object.keys(simSettings) as Key[]).find((k) => simSettings[k].env === err.variable);
      const flag = key ? SIM_FLAGS[key] : null;
      if (flag) throw new ConfigError(err.variable, err.message.replace(`${err.variable}=`, `${flag}=`));
    }
    throw err;
  }
}

// ------------------------------------------------------------------------------------------------ KV events

/** vLLM's `--kv-events-config` (`vllm/config/kv_events.py`); unknown fields are accepted and ignored. */
export const KvEventsConfigInput = Type.Object({
  enable_kv_cache_events: Type.Optional(Type.Boolean()),
  publisher: Type.Optional(Type.Union([Type.Literal('null'), Type.Literal('zmq')])),
  endpoint: Type.Optional(Type.String({ minLength: 1 })),
  replay_endpoint: Type.Optional(Type.Union([Type.String({ minLength: 1 }), Type.Null()])),
  buffer_steps: Type.Optional(Type.Integer({ minimum: 1 })),
  hwm: Type.Optional(Type.Integer({ minimum: 0 })),
  max_queue_size: Type.Optional(Type.Integer({ minimum: 1 })),
  topic: Type.Optional(Type.String()),
});
export type KvEventsConfigInput = Static<typeof KvEventsConfigInput>;

export interface KvEventsConfig {
  enabled: boolean;
  publisher: 'null' | 'zmq';
  endpoint: string;
  replayEndpoint: string | null;
  /** Batches kept for replay. */
  bufferSteps: number;
  /** ZMQ send high-water mark. */
  hwm: number;
  /** Batches waiting to be sent before new ones are dropped. */
  maxQueueSize: number;
  topic: string;
}

const checkKvEvents = Compile(KvEventsConfigInput);

/**
 * Applies vLLM's defaults to `--kv-events-config`. The publisher defaults to "null" up to 0.11.0 and to "zmq"
 * (when events are enabled) from 0.11.1, so an emulated 0.10 or 0.11 publishes nothing unless it says "zmq".
 */
export function resolveKvEventsConfig(json: string, version: VllmVersion): KvEventsConfig {
  let raw: unknown = {};
  if (json.trim() !== '') {
    try {
      raw = JSON.parse(json);
    } catch (err) {
      throw new ConfigError(simSettings.kvEventsConfig.env, `invalid --kv-events-config: ${(err as Error).message}`);
    }
  }
  if (!checkKvEvents.Check(raw)) {
    const first = checkKvEvents.Errors(raw)[0];
    throw new ConfigError(
      simSettings.kvEventsConfig.env,
      `invalid --kv-events-config: ${first?.instancePath || '/'} ${first?.message ?? 'does not match'}`,
    );
  }
  const c = raw as KvEventsConfigInput;
  const enabled = c.enable_kv_cache_events ?? false;
  return {
    enabled,
    publisher: c.publisher ?? (enabled && version === '0.12' ? 'zmq' : 'null'),
    endpoint: c.endpoint ?? 'tcp://*:5557',
    replayEndpoint: c.replay_endpoint ?? null,
    bufferSteps: c.buffer_steps ?? 10_000,
    hwm: c.hwm ?? 100_000,
    maxQueueSize: c.max_queue_size ?? 100_000,
    topic: c.topic ?? '',
  };
}

// ------------------------------------------------------------------------------------------------ engine

/** Catalogue id of a model given by id or by its Hugging Face repository name. */
export function catalogueModelId(model: string): string {
  const catalogue = modelCatalog as Record<string, ModelSpec>;
  if (catalogue[model]) return model;
  const byRepo = Object.values(catalogue).find((m) => m.hfRepo.toLowerCase() === model.toLowerCase());
  if (!byRepo) {
    throw new ConfigError(
      simSettings.model.env,
      `unknown model "${model}"; known: ${Object.values(catalogue)
        .map((m) => `${m.id} (${m.hfRepo})`)
        .join(', ')}`,
    );
  }
  return byRepo.id;
}

/** Adapters of `--lora-modules name=path`, in order. */
export function parseLoraModules(modules: readonly string[]): Array<{ name: string; path: string }> {
  return modules.map((m) => {
    const eq = m.indexOf('=');
    return { name: m.slice(0, eq), path: m.slice(eq + 1) };
  });
}

/** The engine model's configuration from engine-sim's settings (unset numbers keep vLLM's defaults). */
export function engineConfigFrom(config: SimConfig): EngineConfig {
  const loraModules = parseLoraModules(config.loraModules).map((m) => m.name);
  return {
    model: catalogueModelId(config.model),
    gpu: config.gpu,
    tensorParallelSize: config.tensorParallelSize,
    ...(config.maxNumSeqs > 0 ? { maxNumSeqs: config.maxNumSeqs } : {}),
    ...(config.maxNumBatchedTokens > 0 ? { maxNumBatchedTokens: config.maxNumBatchedTokens } : {}),
    ...(config.maxModelLen > 0 ? { maxModelLen: config.maxModelLen } : {}),
    blockSize: config.blockSize,
    gpuMemoryUtilization: config.gpuMemoryUtilization,
    ...(config.numGpuBlocksOverride > 0 ? { numGpuBlocksOverride: config.numGpuBlocksOverride } : {}),
    enablePrefixCaching: config.enablePrefixCaching,
    enableLora: config.enableLora || loraModules.length > 0,
    loraModules,
    maxLoras: config.maxLoras,
    ...(config.maxCpuLoras > 0 ? { maxCpuLoras: config.maxCpuLoras } : {}),
    adapterLoadMs: config.adapterLoadMs,
    frontendLatencyMs: config.frontendLatencyMs,
    seed: config.seed,
    hashSeed: config.prefixHashSeed,
  };
}

/** vLLM's reading of VLLM_ALLOW_RUNTIME_LORA_UPDATING. */
export function runtimeLoraUpdatingEnabled(value: string): boolean {
  return ['1', 'true'].includes(value.trim().toLowerCase());
}
