import { commonSettings, type ConfigOf, setting } from '@brix/config';
import Type from 'typebox';

/** The gateway's settings (environment variables, or keys of the BRIX_CONFIG_FILE JSON file). */
export const gatewaySettings = {
  ...commonSettings,
  port: setting(
    'BRIX_GATEWAY_PORT',
    Type.Integer({ minimum: 0, maximum: 65535, default: 8888 }),
    'port of the OpenAI-compatible API',
  ),
  instance: setting('BRIX_INSTANCE', Type.String({ default: '' }), 'instance name in stats and logs (default: gateway-<pid>)'),
  engines: setting(
    'BRIX_ENGINES',
    Type.String({ default: '' }),
    'static engines when no other directory is used: `model=url[,model=url…]` or a JSON array of {id, model, url, gpuType?, sidecarUrl?}',
  ),
  directory: setting(
    'BRIX_DIRECTORY',
    Type.Union([Type.Literal('static'), Type.Literal('lifecycle'), Type.Literal('kubernetes')], { default: 'static' }),
    'where engines come from: the static list, engine-lifecycle events on the bus, or Kubernetes pods',
  ),
  kubeNamespace: setting('BRIX_KUBE_NAMESPACE', Type.String({ default: '' }), 'namespace to watch for engine pods (empty: all)'),
  defaultStrategy: setting(
    'BRIX_ROUTING_STRATEGY',
    Type.String({ default: 'least-request', minLength: 1 }),
    'routing strategy when the request names none',
  ),
  staleAfterMs: setting(
    'BRIX_STATE_STALE_MS',
    Type.Integer({ minimum: 1, default: 1000 }),
    'engine load state older than this counts as saturated',
  ),
  scrapeIntervalMs: setting(
    'BRIX_SCRAPE_INTERVAL_MS',
    Type.Integer({ minimum: 0, default: 50 }),
    "interval of the gateway's own /metrics scrapes of engines without fresh sidecar snapshots (0 = never scrape)",
  ),
  adapterPollMs: setting(
    'BRIX_ADAPTER_POLL_MS',
    Type.Integer({ minimum: 0, default: 2000 }),
    'interval of /v1/models polls that learn loaded adapters (0 = never)',
  ),
  maxRetries: setting(
    'BRIX_MAX_RETRIES',
    Type.Integer({ minimum: 0, maximum: 10, default: 2 }),
    'other engines tried when the chosen one fails before its first byte',
  ),
  connectTimeoutMs: setting(
    'BRIX_CONNECT_TIMEOUT_MS',
    Type.Integer({ minimum: 1, default: 2000 }),
    'TCP connect timeout to an engine',
  ),
  headersTimeoutMs: setting(
    'BRIX_HEADERS_TIMEOUT_MS',
    Type.Integer({ minimum: 1, default: 300_000 }),
    'time an engine may take to start answering',
  ),
  bodyTimeoutMs: setting(
    'BRIX_BODY_TIMEOUT_MS',
    Type.Integer({ minimum: 1, default: 300_000 }),
    'longest pause between two chunks of an engine response',
  ),
  bodyLimitBytes: setting(
    'BRIX_BODY_LIMIT_BYTES',
    Type.Integer({ minimum: 1024, default: 16 * 1024 * 1024 }),
    'largest request body accepted (413 above)',
  ),
  connectionsPerEngine: setting(
    'BRIX_CONNECTIONS_PER_ENGINE',
    Type.Integer({ minimum: 1, default: 256 }),
    'keep-alive connection pool size per engine',
  ),
  breakerFailures: setting(
    'BRIX_BREAKER_FAILURES',
    Type.Integer({ minimum: 1, default: 5 }),
    'consecutive failures that open an engine’s circuit',
  ),
  breakerOpenMs: setting(
    'BRIX_BREAKER_OPEN_MS',
    Type.Integer({ minimum: 1, default: 2000 }),
    'first open period of a circuit (doubles on each re-open)',
  ),
  injectUsage: setting(
    'BRIX_STREAM_USAGE',
    Type.Boolean({ default: true }),
    'ask engines for stream usage (stream_options.include_usage) to learn real token counts; the extra chunk is hidden from clients that did not ask',
  ),
  defaultMaxTokens: setting(
    'BRIX_DEFAULT_MAX_TOKENS',
    Type.Integer({ minimum: 1, default: 256 }),
    'output tokens to expect when a request sets no max_tokens',
  ),
  engineApiKey: setting(
    'BRIX_ENGINE_API_KEY',
    Type.String({ default: '' }),
    'bearer token sent to engines started with --api-key',
  ),
  prefixBlockBytes: setting(
    'BRIX_PREFIX_BLOCK_BYTES',
    Type.Integer({ minimum: 16, multipleOf: 4, default: 128 }),
    'bytes per prefix block hashed for cache-aware routing (a multiple of 4)',
  ),
  statsFlushMs: setting(
    'BRIX_STATS_FLUSH_MS',
    Type.Integer({ minimum: 10, default: 1000 }),
    'interval of brix.gateway.requests batches',
  ),
  gpuCapacity: setting(
    'BRIX_GPU_CAPACITY',
    Type.Record(Type.String(), Type.Number({ exclusiveMinimum: 0 }), {
      // Decode is memory-bound, so the defaults follow HBM bandwidth relative to A100-80GB (2.0 TB/s).
      default: { A10: 0.3, L20: 0.43, L40S: 0.43, V100: 0.45, 'A100-80GB': 1, H100: 1.67, H200: 2.4 },
    }),
    'relative serving capacity per GPU type (JSON object; A100-80GB = 1), for capability-aware routing',
  ),
};

export type GatewayConfig = ConfigOf<typeof gatewaySettings>;
