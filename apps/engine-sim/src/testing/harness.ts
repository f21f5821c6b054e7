// Test helpers: engine-sim's app on a fast clock, SSE parsing, and metrics read with a real Prometheus parser.
import { VirtualClock } from '@brix/clock';
import { type EngineConfig, type KvEventBatch } from '@brix/engine-model';
import { type HttpApp } from '@brix/http';
import { createLogger } from '@brix/observability';
import { llama3Tokenizer } from '@brix/tokenizer';
import parsePrometheusTextFormat, { type ParsedFamily } from 'parse-prometheus-text-format';
import { Registry } from 'prom-client';
import { type EngineSimSettings, buildApp } from '../app';
import { ScaledClock } from '../clock/scaled-clock';
import { type KvEventSink } from '../kv-events/sink';

export const MODEL = 'meta-llama/Meta-Llama-3-8B-Instruct';
export const ADMIN = 'test-admin-token';
/** Wall clock start: `created` fields read 1764100000. */
export const WALL_START_MS = 1_764_100_000_000;

export const baseSettings = (): EngineSimSettings => ({
  servedModelNames: [MODEL],
  modelRoot: 'llama-3-8b',
  vllmVersion: '0.11',
  showHiddenMetricsForVersion: '',
  runtimeLoraUpdating: false,
  forceIncludeUsage: false,
  promptTokensDetails: false,
  estimateTokens: false,
  embeddingSize: 0,
  startupDelayMs: 0,
  faults: { errorRate: 0, errorStatus: 500, latencySpikeRate: 0, latencySpikeMs: 0, stalled: false, crashAfterRequests: 0 },
  loraModules: [],
  adminToken: ADMIN,
  maxBodyBytes: 64 * 1024 * 1024,
});

/** A small engine: 256 blocks of 16 tokens, 2048-token context, vLLM's H100 defaults otherwise. */
export const smallEngine = (): EngineConfig => ({
  model: 'llama-3-8b',
  gpu: 'H100',
  numGpuBlocksOverride: 256,
  maxModelLen: 2048,
  frontendLatencyMs: 20,
  seed: 7,
});

export interface Harness {
  app: HttpApp;
  clock: ScaledClock;
  wall: VirtualClock;
  kvBatches: KvEventBatch[];
  exits: number[];
  readyCalls: number;
}

export interface HarnessOptions {
  settings?: Partial<EngineSimSettings>;
  engine?: Partial<EngineConfig>;
  /** Wall seconds per simulated second (default 0: no wall time passes). */
  timeScale?: number;
  kvEvents?: boolean;
}

/** engine-sim's app, not listening (use app.inject), on a ScaledClock and a virtual wall clock. */
export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const clock = new ScaledClock(options.timeScale ?? 0);
  const wall = new VirtualClock(WALL_START_MS);
  const kvBatches: KvEventBatch[] = [];
  const sink: KvEventSink = { publish: (b) => void kvBatches.push(b), close: async () => undefined };
  const h: Harness = { app: undefined as unknown as HttpApp, clock, wall, kvBatches, exits: [], readyCalls: 0 };
  const settings = { ...baseSettings(), ...options.settings };
  h.app = buildApp({
    settings,
    engineConfig: { ...smallEngine(), loraModules: settings.loraModules.map((m) => m.name), ...options.engine },
    clock,
    wall,
    tokenizer: llama3Tokenizer,
    logger: createLogger({ service: 'engine-sim', level: 'silent' }),
    registry: new Registry(),
    ...(options.kvEvents ? { kvEvents: sink } : {}),
    exit: (code) => void h.exits.push(code),
    onReady: () => void h.readyCalls++,
  });
  await h.app.ready();
  return h;
}

/** The JSON payloads of an SSE body, and whether it ended with `data: [DONE]`. */
export function parseSse(body: string): { events: Array<Record<string, unknown>>; done: boolean; raw: string[] } {
  const raw = body.split('\n\n').filter((b) => b.length > 0);
  const events: Array<Record<string, unknown>> = [];
  let done = false;
  for (const block of raw) {
    if (!block.startsWith('data: ')) throw new Error(`not an SSE data line: ${JSON.stringify(block)}`);
    const data = block.slice('data: '.length);
    if (data === '[DONE]') done = true;
    else events.push(JSON.parse(data) as Record<string, unknown>);
  }
  return { events, done, raw };
}

/** `/metrics` parsed by parse-prometheus-text-format, by family name. */
export async function scrape(app: HttpApp): Promise<Map<string, ParsedFamily>> {
  const res = await app.inject({ method: 'GET', url: '/metrics' });
  if (res.statusCode !== 200) throw new Error(`/metrics answered ${res.statusCode}`);
  return new Map(parsePrometheusTextFormat(res.body).map((f) => [f.name, f]));
}

/** The value of the single series of a gauge or counter family (NaN when absent). */
export function value(families: Map<string, ParsedFamily>, name: string, labels: Record<string, string> = {}): number {
  const f = families.get(name);
  const m = f?.metrics.find((s) => Object.entries(labels).every(([k, v]) => s.labels?.[k] === v));
  return m?.value === undefined ? NaN : Number(m.value);
}

/** A histogram's cumulative buckets by `le` (its single label set). */
export function buckets(families: Map<string, ParsedFamily>, name: string): Record<string, number> {
  const b = families.get(name)?.metrics[0]?.buckets ?? {};
  return Object.fromEntries(Object.entries(b).map(([k, v]) => [k, Number(v)]));
}

export const chatBody = (content: string, extra: Record<string, unknown> = {}) => ({
  model: MODEL,
  messages: [{ role: 'user', content }],
  ...extra,
});

/** A prose prompt of about `words` words, different per `salt`. */
export function prose(words: number, salt = 0): string {
  const vocab = [
    'engine',
    'router',
    'cache',
    'token',
    'prefix',
    'batch',
    'adapter',
    'queue',
    'model',
    'step',
    'block',
    'request',
  ];
  const out: string[] = [];
  for (let i = 0; i < words; i++) out.push(vocab[(i * 7 + salt * 13 + ((i * i) % 5)) % vocab.length]!);
  return `${salt}: ${out.join(' ')}.`;
}
