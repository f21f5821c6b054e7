import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CreateArtifactStoreOptions, credentialsFrom, SUPPORTED_SCHEMES } from '@brix/artifacts';
import { type Clock } from '@brix/clock';
import { commonSettings, type ConfigOf, setting } from '@brix/config';
import { DEFAULT_ALLOWED_HOSTS, RUNTIME_DEFAULTS, type RuntimeSettings } from '@brix/runtime-core';
import Type from 'typebox';

/** Every setting of the ai-runtime sidecar; `apps/ai-runtime/README.md` lists them. */
export const runtimeSettings = {
  ...commonSettings,
  port: setting('BRIX_PORT', Type.Integer({ minimum: 1, maximum: 65535, default: 8080 }), 'port the sidecar listens on'),
  model: setting(
    'BRIX_MODEL',
    Type.String({ minLength: 1, maxLength: 253 }),
    'served model name of the engine beside the sidecar (required; the subject token of its load snapshots)',
  ),
  pod: setting('BRIX_POD_NAME', Type.String({ default: '' }), 'pod (engine instance) name; empty = the host name'),
  engineUrl: setting(
    'BRIX_ENGINE_URL',
    Type.String({ default: 'http://127.0.0.1:8000', pattern: '^https?://' }),
    "base URL of the engine's HTTP server",
  ),
  engineKind: setting(
    'BRIX_ENGINE_KIND',
    Type.Union([Type.Literal('auto'), Type.Literal('vllm'), Type.Literal('sglang')], { default: 'auto' }),
    "engine family whose metric names to translate; auto = detected from the engine's /metrics",
  ),
  scrapeIntervalMs: setting(
    'BRIX_SCRAPE_INTERVAL_MS',
    Type.Integer({ minimum: 10, maximum: 600_000, default: RUNTIME_DEFAULTS.scrapeIntervalMs }),
    "pause between two scrapes of the engine's /metrics, ms",
  ),
  scrapeTimeoutMs: setting(
    'BRIX_SCRAPE_TIMEOUT_MS',
    Type.Integer({ minimum: 10, default: RUNTIME_DEFAULTS.scrapeTimeoutMs }),
    'a scrape slower than this fails, ms',
  ),
  rateWindowMs: setting(
    'BRIX_RATE_WINDOW_MS',
    Type.Integer({ minimum: 0, default: RUNTIME_DEFAULTS.rateWindowMs }),
    'token rates, prefix hit rate and mean latencies are computed over this window of scrapes, ms (0 = the last interval)',
  ),
  healthTimeoutMs: setting(
    'BRIX_HEALTH_TIMEOUT_MS',
    Type.Integer({ minimum: 10, default: RUNTIME_DEFAULTS.healthTimeoutMs }),
    "/readyz fails when the engine's /health does not answer within this, ms",
  ),
  gpuType: setting(
    'BRIX_GPU_TYPE',
    Type.String({ default: '' }),
    'accelerator type copied into load snapshots (H100, A10…); empty = omitted',
  ),
  maxNumSeqs: setting(
    'BRIX_MAX_NUM_SEQS',
    Type.Integer({ minimum: 0, default: 0 }),
    "the engine's batch limit, copied into load snapshots; 0 = omitted",
  ),
  advertiseUrl: setting(
    'BRIX_ADVERTISE_URL',
    Type.String({ default: '', pattern: '^(https?://.+)?$' }),
    "this sidecar's URL as others reach it, sent in lifecycle events; empty = not sent",
  ),
  adapterPollIntervalMs: setting(
    'BRIX_ADAPTER_POLL_INTERVAL_MS',
    Type.Integer({ minimum: 0, default: RUNTIME_DEFAULTS.adapterPollIntervalMs }),
    "pause between polls of the engine's /v1/models for loaded adapters, ms (0 = never)",
  ),
  engineRequestTimeoutMs: setting(
    'BRIX_ENGINE_REQUEST_TIMEOUT_MS',
    Type.Integer({ minimum: 100, default: RUNTIME_DEFAULTS.engineRequestTimeoutMs }),
    'longest wait for one engine API call (model list, adapter load and unload), ms',
  ),
  kvEventsEndpoint: setting(
    'BRIX_KV_EVENTS_ENDPOINT',
    Type.String({ default: '', pattern: '^((tcp|ipc|inproc)://.+)?$' }),
    "the engine's KV-event ZMQ publisher (tcp://127.0.0.1:5557); empty = no KV-event bridge",
  ),
  kvEventsReplayEndpoint: setting(
    'BRIX_KV_EVENTS_REPLAY_ENDPOINT',
    Type.String({ default: '', pattern: '^((tcp|ipc|inproc)://.+)?$' }),
    "the engine's KV-event replay endpoint (tcp://127.0.0.1:5558); empty = gaps are counted, not filled",
  ),
  kvEventsTopic: setting(
    'BRIX_KV_EVENTS_TOPIC',
    Type.String({ default: '' }),
    'KV-event topic prefix to subscribe to; empty = all',
  ),
  kvEventsReplayTimeoutMs: setting(
    'BRIX_KV_EVENTS_REPLAY_TIMEOUT_MS',
    Type.Integer({ minimum: 10, default: 1000 }),
    'a KV-event replay silent this long is given up, ms',
  ),
  cacheDir: setting(
    'BRIX_ARTIFACT_CACHE_DIR',
    Type.String({ default: '' }),
    'artifact cache directory; empty = <tmpdir>/brix-artifacts',
  ),
  allowedSchemes: setting(
    'BRIX_ARTIFACT_ALLOWED_SCHEMES',
    Type.Array(Type.Union(SUPPORTED_SCHEMES.map((s) => Type.Literal(s))), { default: [...SUPPORTED_SCHEMES] }),
    'artifact source schemes downloads may use',
  ),
  allowedHosts: setting(
    'BRIX_ARTIFACT_ALLOWED_HOSTS',
    Type.Array(Type.String({ minLength: 1 }), { default: [...DEFAULT_ALLOWED_HOSTS] }),
    'hosts http(s) downloads, the hub endpoint and redirects may reach (`host`, `*.domain`, `*`)',
  ),
  allowedBuckets: setting(
    'BRIX_ARTIFACT_ALLOWED_BUCKETS',
    Type.Array(Type.String({ minLength: 1 }), { default: ['*'] }),
    'S3 buckets downloads may read (globs)',
  ),
  localRoots: setting(
    'BRIX_ARTIFACT_LOCAL_ROOTS',
    Type.Array(Type.String({ minLength: 1, pattern: '^/' }), { default: [] }),
    'absolute directories local sources may come from (downloads, and adapter paths handed to the engine); empty = local sources refused',
  ),
  downloadConcurrency: setting(
    'BRIX_DOWNLOAD_CONCURRENCY',
    Type.Integer({ minimum: 1, maximum: 64, default: 4 }),
    'parallel requests per artifact download',
  ),
  hfEndpoint: setting(
    'BRIX_HF_ENDPOINT',
    Type.String({ default: 'https://huggingface.co', pattern: '^https?://' }),
    'Hugging Face Hub endpoint',
  ),
  s3Endpoint: setting('BRIX_S3_ENDPOINT', Type.String({ default: '' }), 'S3-compatible endpoint URL; empty = AWS S3'),
  s3Region: setting('BRIX_S3_REGION', Type.String({ default: 'us-east-1', minLength: 1 }), 'S3 region'),
  s3ForcePathStyle: setting(
    'BRIX_S3_FORCE_PATH_STYLE',
    Type.Boolean({ default: false }),
    'path-style S3 addressing (MinIO and most S3-compatible stores)',
  ),
  secretsDir: setting(
    'BRIX_SECRETS_DIR',
    Type.String({ default: '' }),
    'directory of mounted secret files (hf-token, aws-access-key-id, aws-secret-access-key, aws-session-token)',
  ),
  hfToken: setting('HF_TOKEN', Type.String({ default: '' }), 'Hugging Face token (sent to the hub endpoint only)'),
  awsAccessKeyId: setting('AWS_ACCESS_KEY_ID', Type.String({ default: '' }), 'S3 access key id'),
  awsSecretAccessKey: setting('AWS_SECRET_ACCESS_KEY', Type.String({ default: '' }), 'S3 secret access key'),
  awsSessionToken: setting('AWS_SESSION_TOKEN', Type.String({ default: '' }), 'S3 session token'),
};

export type RuntimeConfig = ConfigOf<typeof runtimeSettings>;

/** The lib's runtime settings from the sidecar's configuration (`pod` resolved by the caller). */
export function toRuntimeSettings(config: RuntimeConfig, pod: string): RuntimeSettings {
  return {
    model: config.model,
    pod,
    engineUrl: config.engineUrl,
    engineKind: config.engineKind,
    scrapeIntervalMs: config.scrapeIntervalMs,
    scrapeTimeoutMs: config.scrapeTimeoutMs,
    rateWindowMs: config.rateWindowMs,
    healthTimeoutMs: config.healthTimeoutMs,
    ...(config.gpuType ? { gpuType: config.gpuType } : {}),
    ...(config.maxNumSeqs ? { maxNumSeqs: config.maxNumSeqs } : {}),
    adminToken: config.adminToken,
    ...(config.advertiseUrl ? { sidecarUrl: config.advertiseUrl } : {}),
    adapterPollIntervalMs: config.adapterPollIntervalMs,
    engineRequestTimeoutMs: config.engineRequestTimeoutMs,
    ...(config.kvEventsEndpoint
      ? {
          kvEvents: {
            endpoint: config.kvEventsEndpoint,
            ...(config.kvEventsReplayEndpoint ? { replayEndpoint: config.kvEventsReplayEndpoint } : {}),
            topic: config.kvEventsTopic,
            replayTimeoutMs: config.kvEventsReplayTimeoutMs,
          },
        }
      : {}),
  };
}

/** The artifact store's options from the sidecar's configuration; credentials leave the config here, as Secrets. */
export function toArtifactOptions(config: RuntimeConfig, clock: Clock): CreateArtifactStoreOptions {
  return {
    cacheDir: config.cacheDir || join(tmpdir(), 'brix-artifacts'),
    policy: {
      allowedSchemes: config.allowedSchemes,
      allowedHosts: config.allowedHosts,
      allowedBuckets: config.allowedBuckets,
      localRoots: config.localRoots,
    },
    huggingface: { endpoint: config.hfEndpoint },
    s3: {
      ...(config.s3Endpoint ? { endpoint: config.s3Endpoint } : {}),
      region: config.s3Region,
      forcePathStyle: config.s3ForcePathStyle,
    },
    credentials: credentialsFrom({
      env: {
        huggingFaceToken: config.hfToken,
        awsAccessKeyId: config.awsAccessKeyId,
        awsSecretAccessKey: config.awsSecretAccessKey,
        awsSessionToken: config.awsSessionToken,
      },
      ...(config.secretsDir ? { secretsDir: config.secretsDir } : {}),
    }),
    clock,
    transfer: { concurrency: config.downloadConcurrency },
  };
}
