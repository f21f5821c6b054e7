// Integration tests of the sidecar against real engine-sim processes (the stand-in for vLLM) and a real
// nats-server: load snapshots under real load, adapter loading, KV events, engine restarts, and the
// bundled sidecar process.
import { mkdirSync, mkdtempSync, realpathSync, writeFileSync, existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Bus, NatsBus, subscribeEvents } from '@brix/bus';
import { WallClock } from '@brix/clock';
import {
  type AdapterEvent,
  AdapterEvents,
  EngineLifecycle,
  type EngineLifecycleEvent,
  EngineLoad,
  type EngineLoadSnapshot,
  KvEvents,
  type KvEventBatch,
  subjectToken,
} from '@brix/contracts';
import { parsePrometheusText } from '@brix/engine-metrics';
import { createLogger } from '@brix/observability';
import { startSidecar, type StartedSidecar } from '@brix/runtime-core';
import { freePort, type NatsServerHandle, type ServiceProcess, startApp, startNatsServer, waitFor } from '@brix/testing';
import OpenAI from 'openai';

const MODEL = 'meta-llama/Llama-3.1-8B-Instruct';
/** engine-sim's default KV block size (vLLM's on CUDA). */
const BLOCK = 16;

interface Sim {
  url: string;
  port: number;
  proc: ServiceProcess;
  openai: OpenAI;
}

interface SimOptions {
  /** HTTP port; default a free one (pass the old one to restart an engine in place). */
  port?: number;
  /** ZMQ ports of the KV-event publisher and its replay ROUTER; absent: no KV events. */
  kv?: { port: number; replayPort?: number };
  /** LoRA serving with runtime loading (VLLM_ALLOW_RUNTIME_LORA_UPDATING=true). */
  lora?: boolean;
  /** LoRA serving without runtime loading. */
  loraStatic?: boolean;
  /** KV blocks of 16 tokens (few = cache pressure); default 64. */
  blocks?: number;
  maxNumSeqs?: number;
  /** Context length; default 1024 (engine-sim refuses one longer than the KV cache holds). */
  maxModelLen?: number;
}

async function startSim(options: SimOptions = {}): Promise<Sim> {
  const port = options.port ?? (await freePort());
  const args = ['--port', String(port), '--model', MODEL, '--max-model-len', String(options.maxModelLen ?? 1024)];
  args.push('--num-gpu-blocks-override', String(options.blocks ?? 64), '--max-num-seqs', String(options.maxNumSeqs ?? 8));
  if (options.lora || options.loraStatic) args.push('--enable-lora', '--max-loras', '2');
  if (options.kv)
    args.push(
      '--kv-events-config',
      JSON.stringify({
        enable_kv_cache_events: true,
        publisher: 'zmq',
        endpoint: `tcp://*:${options.kv.port}`,
        ...(options.kv.replayPort ? { replay_endpoint: `tcp://*:${options.kv.replayPort}` } : {}),
      }),
    );
  const url = `http://127.0.0.1:${port}`;
  const proc = await startApp('engine-sim', {
    args,
    env: { VLLM_ALLOW_RUNTIME_LORA_UPDATING: options.lora ? 'true' : '', BRIX_LOG_LEVEL: 'warn' },
    readyUrl: `${url}/health`,
    readyTimeoutMs: 60_000,
  });
  return { url, port, proc, openai: new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0 }) };
}

/** A prompt of `words` distinct words (about five Llama-3 tokens each: `tag` + number), unique per `tag`. */
const prompt = (tag: string, words: number) => Array.from({ length: words }, (_, i) => `${tag}${i}`).join(' ');

/** One chat request that generates exactly `tokens` tokens (`ignore_eos`, vLLM's sampling extension). */
const generate = (sim: Sim, content: string, tokens: number, model = MODEL) =>
  sim.openai.chat.completions.create({
    model,
    messages: [{ role: 'user', content }],
    max_tokens: tokens,
    ...({ ignore_eos: true } as object),
  });

const post = async (url: string, body: unknown) => {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return {
    status: res.status,
    body: (await res.json()) as Record<string, unknown> & { error?: { message: string; code: string } },
  };
};

const engineModels = async (sim: Sim) =>
  ((await (await fetch(`${sim.url}/v1/models`)).json()) as { data: Array<{ id: string; parent: string | null; root: string }> })
    .data;

describe('ai-runtime against engine-sim and a real nats-server', () => {
  let nats: NatsServerHandle;
  let observer: Bus;
  let snapshots: EngineLoadSnapshot[];
  let lifecycle: EngineLifecycleEvent[];
  let adapterEvents: AdapterEvent[];
  let kv: Array<{ subject: string; batch: KvEventBatch }>;
  let cleanup: Array<() => Promise<unknown>>;

  beforeAll(async () => {
    nats = await startNatsServer();
  });
  afterAll(() => nats.dispose());

  beforeEach(async () => {
    observer = await NatsBus.connect({ servers: nats.url, name: 'observer' });
    snapshots = [];
    lifecycle = [];
    adapterEvents = [];
    kv = [];
    subscribeEvents(observer, EngineLoad, (s) => void snapshots.push(s));
    subscribeEvents(observer, EngineLifecycle, (e) => void lifecycle.push(e));
    subscribeEvents(observer, AdapterEvents, (e) => void adapterEvents.push(e));
    subscribeEvents(observer, KvEvents, (batch, subject) => void kv.push({ subject, batch }));
    await observer.flush();
    cleanup = [];
  });
  afterEach(async () => {
    for (const c of cleanup.reverse()) await c().catch(() => undefined);
    await observer.close();
  });

  const sim = async (options: SimOptions = {}) => {
    const s = await startSim(options);
    cleanup.push(() => s.proc.stop());
    return s;
  };

  /** An in-process sidecar (the lib's composition helper) on its own NATS connection. */
  const sidecar = async (engine: Sim, pod: string, extra: Partial<Parameters<typeof startSidecar>[0]> = {}) => {
    const bus = await NatsBus.connect({ servers: nats.url, name: `ai-runtime-${pod}` });
    cleanup.push(() => bus.close());
    const s = await startSidecar({
      model: MODEL,
      pod,
      engineUrl: engine.url,
      port: 0,
      cacheDir: mkdtempSync(join(tmpdir(), 'brix-runtime-int-')),
      bus,
      logger: createLogger({ service: 'ai-runtime', level: 'silent' }),
      clock: new WallClock(),
      timing: { scrapeIntervalMs: 50, rateWindowMs: 0, adapterPollIntervalMs: 300 },
      ...extra,
    });
    cleanup.push(() => s.close()); // runs before the bus closes (cleanup runs in reverse)
    return s;
  };

  const sidecarMetrics = async (s: StartedSidecar) => parsePrometheusText(await (await fetch(`${s.url}/metrics`)).text());

  it('publishes snapshots and standardized metrics that track real load on the engine', async () => {
    const engine = await sim({ maxNumSeqs: 4 });
    const s = await sidecar(engine, 'engine-load');
    await waitFor(() => snapshots.find((x) => x.pod === 'engine-load'), 'a snapshot of the idle engine');
    expect(snapshots[0]).toMatchObject({ model: MODEL, running: 0, waiting: 0, kvUsage: 0, engine: 'vllm', url: engine.url });

    // 12 requests at once on a batch limit of 4: 4 run, 8 wait, blocks fill.
    const requests = Array.from({ length: 12 }, (_, i) => generate(engine, prompt(`load${i}-`, 40), 100));
    const busy = await waitFor(
      () => snapshots.find((x) => x.pod === 'engine-load' && x.running === 4 && x.waiting > 0 && x.kvUsage > 0),
      'a snapshot of the loaded engine',
      { timeoutMs: 20_000 },
    );
    expect(busy.running).toBe(4); // --max-num-seqs 4
    const usage = (await Promise.all(requests)).map((r) => r.usage!);
    expect(usage.every((u) => u.completion_tokens === 100)).toBe(true);

    // Back to idle, and the counters add up to what was generated.
    const promptTokens = usage.reduce((a, u) => a + u.prompt_tokens, 0);
    await waitFor(async () => {
      const m = await sidecarMetrics(s);
      return m.samples.get('brix_engine_generation_tokens_total')?.[0]?.value === 1200; // 12 requests × 100 tokens
    }, 'the generation counter to reach 1200');
    const m = await sidecarMetrics(s);
    expect(m.samples.get('brix_engine_prompt_tokens_total')?.[0]?.value).toBe(promptTokens);
    expect(m.samples.get('brix_engine_requests_running')?.[0]).toMatchObject({
      labels: { model: MODEL, pod: 'engine-load', engine: 'vllm' },
      value: 0,
    });
    const idle = await waitFor(
      () => snapshots.find((x) => x.pod === 'engine-load' && x.ts > busy.ts && x.running === 0 && x.waiting === 0),
      'an idle snapshot after the load',
    );
    expect(idle.kvUsage).toBe(0);
    // Rates went up while tokens were generated, and never below zero.
    expect(snapshots.some((x) => x.generationTokensPerSec > 0 && x.promptTokensPerSec >= 0)).toBe(true);
    expect(snapshots.every((x) => x.generationTokensPerSec >= 0 && x.promptTokensPerSec >= 0)).toBe(true);
    expect(lifecycle.filter((e) => e.pod === 'engine-load').map((e) => [e.phase, e.sidecarUrl])).toEqual([['ready', s.url]]);
  });

  describe('adapters', () => {
    const root = mkdtempSync(join(tmpdir(), 'brix-adapters-int-'));
    const sqlLora = join(root, 'sql-lora');
    mkdirSync(sqlLora, { recursive: true });
    writeFileSync(join(sqlLora, 'adapter_config.json'), '{"r":8,"lora_alpha":16}');
    let files: Server;
    let remote: string;

    beforeAll(async () => {
      files = createServer((req, res) => {
        if (req.url === '/adapters/chat-lora/adapter_config.json') res.end('{"r":16}');
        else res.writeHead(404).end();
      });
      await new Promise<void>((r) => files.listen(0, '127.0.0.1', r));
      remote = `http://127.0.0.1:${(files.address() as AddressInfo).port}/adapters/chat-lora/adapter_config.json`;
    });
    afterAll(() => new Promise<void>((r) => files.close(() => r())));

    it("loads and unloads adapters through the sidecar, changing engine-sim's /v1/models and announcing it on NATS", async () => {
      const engine = await sim({ lora: true });
      const s = await sidecar(engine, 'engine-lora', { localRoots: [root], allowedHosts: ['127.0.0.1'] });

      const load = await post(`${s.url}/v1/lora_adapter/load`, { lora_name: 'sql-lora', artifact_url: sqlLora });
      expect(load).toEqual({
        status: 200,
        body: {
          object: 'lora_adapter',
          lora_name: 'sql-lora',
          status: 'loaded',
          changed: true,
          path: realpathSync(sqlLora),
          source: sqlLora,
        },
      });
      // The engine lists it under the base model, loaded from the local path itself (no copy).
      expect(await engineModels(engine)).toContainEqual(
        expect.objectContaining({ id: 'sql-lora', parent: MODEL, root: realpathSync(sqlLora) }),
      );
      await waitFor(() => adapterEvents.length >= 1, 'the loaded event');
      expect(adapterEvents[0]).toMatchObject({
        model: MODEL,
        adapter: 'sql-lora',
        pod: 'engine-lora',
        kind: 'loaded',
        source: sqlLora,
      });

      // Loading again is a no-op success.
      expect((await post(`${s.url}/v1/lora_adapter/load`, { lora_name: 'sql-lora', artifact_url: sqlLora })).body).toMatchObject({
        changed: false,
      });
      // Snapshots list the idle adapter (vllm:lora_requests_info would not: it has no requests).
      await waitFor(
        () => snapshots.find((x) => x.pod === 'engine-lora' && x.loadedAdapters.includes('sql-lora')),
        'a snapshot with it',
      );
      // The engine serves it.
      const reply = await generate(engine, 'hello adapter', 3, 'sql-lora');
      expect(reply.model).toBe('sql-lora');

      // A remote artifact is downloaded into the cache, and the engine loads the cached copy.
      const chat = await post(`${s.url}/v1/lora_adapter/load`, { lora_name: 'chat-lora', artifact_url: remote });
      expect(chat.status).toBe(200);
      const cached = chat.body['path'] as string;
      expect(existsSync(join(cached, 'adapter_config.json'))).toBe(true);
      expect(await engineModels(engine)).toContainEqual(
        expect.objectContaining({ id: 'chat-lora', parent: MODEL, root: cached }),
      );

      // Unload, deleting the downloaded files.
      const unload = await post(`${s.url}/v1/lora_adapter/unload`, { lora_name: 'chat-lora', delete_files: true });
      expect(unload.body).toMatchObject({ status: 'unloaded', changed: true, files_deleted: true });
      expect(existsSync(cached)).toBe(false);
      expect((await post(`${s.url}/v1/lora_adapter/unload`, { lora_name: 'sql-lora' })).body).toMatchObject({ changed: true });
      expect((await engineModels(engine)).map((c) => c.id)).toEqual([MODEL]);
      // Unloading an absent adapter: a no-op success, not an error.
      expect(await post(`${s.url}/v1/lora_adapter/unload`, { lora_name: 'sql-lora' })).toMatchObject({
        status: 200,
        body: { changed: false },
      });
      await waitFor(() => adapterEvents.length >= 4, 'four adapter events');
      await observer.flush();
      expect(adapterEvents.map((e) => `${e.pod}/${e.kind}:${e.adapter}`)).toEqual([
        'engine-lora/loaded:sql-lora',
        'engine-lora/loaded:chat-lora',
        'engine-lora/unloaded:chat-lora',
        'engine-lora/unloaded:sql-lora',
      ]);
    });

    it("answers an engine that refuses runtime loading with the engine's reason, and announces load-failed", async () => {
      const engine = await sim({ loraStatic: true });
      const s = await sidecar(engine, 'engine-static', { localRoots: [root] });
      const res = await post(`${s.url}/v1/lora_adapter/load`, { lora_name: 'sql-lora', artifact_url: sqlLora });
      expect(res.status).toBe(502);
      expect(res.body.error).toMatchObject({
        code: 'upstream_error',
        message: expect.stringContaining('VLLM_ALLOW_RUNTIME_LORA_UPDATING'),
      });
      await waitFor(() => adapterEvents.length >= 1, 'the load-failed event');
      expect(adapterEvents[0]).toMatchObject({ kind: 'load-failed', adapter: 'sql-lora', reason: res.body.error!.message });
    });
  });

  describe('KV events', () => {
    /** Waits until the bridge is connected and one batch made it through (ZeroMQ drops what a subscriber joins too late for). */
    const warmUp = async (engine: Sim, s: StartedSidecar, pod: string) => {
      await waitFor(
        async () => (await sidecarMetrics(s)).samples.get('brix_runtime_kv_publisher_connected')?.[0]?.value === 1,
        'the KV-event subscription',
      );
      for (let i = 0; !kv.some((k) => k.batch.pod === pod); i++) {
        if (i === 20) throw new Error('no KV batch reached the bus');
        await generate(engine, prompt(`warm${i}-`, 20), 1);
        await new Promise((r) => setTimeout(r, 50));
      }
      return kv.filter((k) => k.batch.pod === pod).length;
    };
    const ofPod = (pod: string) => kv.filter((k) => k.batch.pod === pod).map((k) => k.batch);

    it('arrive on NATS in order: the blocks of a prompt, evictions under pressure, and a clear after a reset', async () => {
      const [port, replayPort] = [await freePort(), await freePort()];
      // 40 blocks of 16 tokens (640 tokens): a few long prompts fill the cache and force evictions.
      const engine = await sim({ kv: { port, replayPort }, blocks: 40, maxModelLen: 512 });
      const s = await sidecar(engine, 'engine-kv', {
        kvEvents: { endpoint: `tcp://127.0.0.1:${port}`, replayEndpoint: `tcp://127.0.0.1:${replayPort}` },
      });
      const before = await warmUp(engine, s, 'engine-kv');

      // One prompt: its full blocks are stored, chained, with exactly its tokens.
      const text = prompt('kv-a-', 60);
      const tokens = (await post(`${engine.url}/tokenize`, { model: MODEL, messages: [{ role: 'user', content: text }] })).body[
        'tokens'
      ] as number[];
      const reply = await generate(engine, text, 1);
      const fullBlocks = Math.floor(reply.usage!.prompt_tokens / BLOCK); // the last partial block is not cached
      await waitFor(() => ofPod('engine-kv').length > before, 'the batch of the prompt');
      const stored = ofPod('engine-kv')
        .slice(before)
        .flatMap((b) => b.events)
        .filter((e) => e.type === 'BlockStored');
      expect(stored.flatMap((e) => e.blockHashes)).toHaveLength(fullBlocks);
      expect(stored[0]!.parentBlockHash).toBeNull(); // the prompt starts a new chain
      expect(stored.flatMap((e) => e.tokenIds)).toEqual(tokens.slice(0, fullBlocks * BLOCK));
      expect(stored.every((e) => e.blockSize === BLOCK && e.medium === 'GPU' && /^[0-9a-f]{16}$/.test(e.blockHashes[0]!))).toBe(
        true,
      );

      // Pressure: four distinct prompts of about 15 blocks each overflow 40 blocks, so cached blocks are evicted.
      for (let i = 0; i < 4; i++) await generate(engine, prompt(`kv-p${i}-`, 50), 1);
      await waitFor(() => ofPod('engine-kv').some((b) => b.events.some((e) => e.type === 'BlockRemoved')), 'a BlockRemoved');

      // A reset of the prefix cache while idle clears everything.
      await fetch(`${engine.url}/reset_prefix_cache`, { method: 'POST' });
      await waitFor(
        () => ofPod('engine-kv').some((b) => b.events.some((e) => e.type === 'AllBlocksCleared')),
        'AllBlocksCleared',
      );

      // In order, no gaps: the bridge's seq counts 0, 1, 2…, and the engine's seq rises with it.
      const batches = ofPod('engine-kv');
      expect(batches.map((b) => b.seq)).toEqual(batches.map((_, i) => i));
      const engineSeqs = batches.map((b) => b.engineSeq!);
      expect(engineSeqs).toEqual([...engineSeqs].sort((a, b) => a - b));
      expect(new Set(engineSeqs).size).toBe(engineSeqs.length);
      expect(kv.find((k) => k.batch.pod === 'engine-kv')!.subject).toBe(`brix.kv.events.${subjectToken(MODEL)}.engine-kv`);
      const m = await sidecarMetrics(s);
      expect(m.samples.get('brix_runtime_kv_lost_batches_total')?.[0]?.value).toBe(0);
    });

    it('follow an engine restart: lifecycle restarted, the bridge reconnects, consumers are told the cache was cleared', async () => {
      const [port, replayPort] = [await freePort(), await freePort()];
      const first = await sim({ kv: { port, replayPort }, lora: true });
      const s = await sidecar(first, 'engine-rs', {
        kvEvents: { endpoint: `tcp://127.0.0.1:${port}`, replayEndpoint: `tcp://127.0.0.1:${replayPort}` },
        localRoots: [tmpdir()],
        // No periodic adapter poll: the loss below must be found by the restart alone.
        timing: { scrapeIntervalMs: 50, rateWindowMs: 0, adapterPollIntervalMs: 0 },
      });
      await warmUp(first, s, 'engine-rs');
      for (let i = 0; i < 3; i++) await generate(first, prompt(`rs${i}-`, 40), 1);
      const adapterDir = mkdtempSync(join(tmpdir(), 'brix-rs-lora-'));
      expect((await post(`${s.url}/v1/lora_adapter/load`, { lora_name: 'rs-lora', artifact_url: adapterDir })).status).toBe(200);
      const beforeRestart = ofPod('engine-rs').length;

      // The engine process dies and a new one starts in its place (same ports).
      await first.proc.kill();
      await waitFor(() => lifecycle.some((e) => e.pod === 'engine-rs' && e.phase === 'not-ready'), 'not-ready');
      const second = await sim({ port: first.port, kv: { port, replayPort }, lora: true });
      await waitFor(() => lifecycle.some((e) => e.pod === 'engine-rs' && e.phase === 'restarted'), 'restarted', {
        timeoutMs: 20_000,
      });
      expect(lifecycle.filter((e) => e.pod === 'engine-rs').map((e) => e.phase)).toEqual([
        'ready',
        'not-ready',
        'restarted',
        'ready',
      ]);
      // The adapter went with the old process.
      await waitFor(() => adapterEvents.some((e) => e.kind === 'unloaded' && e.adapter === 'rs-lora'), 'the adapter loss');
      expect(adapterEvents.find((e) => e.kind === 'unloaded')).toMatchObject({ reason: 'engine restarted' });

      // KV events of the new process arrive through the same subscription, starting with a clear.
      for (let i = 0; ofPod('engine-rs').length === beforeRestart; i++) {
        if (i === 40) throw new Error('no KV batch from the restarted engine');
        await generate(second, prompt(`after${i}-`, 40), 1);
        await new Promise((r) => setTimeout(r, 50));
      }
      const after = ofPod('engine-rs').slice(beforeRestart);
      expect(after[0]!.events[0]).toEqual({ type: 'AllBlocksCleared' });
      expect(after[0]!.engineSeq).toBe(0); // the new process counts from 0 (replayed if the subscriber joined late)
      const seqs = ofPod('engine-rs').map((b) => b.seq);
      expect(seqs).toEqual(seqs.map((_, i) => i)); // the bridge's own seq simply continues
    });
  });

  it('runs as its own process from the bundled main: config from env, NATS, KV events, adapters, clean stop', async () => {
    const [kvPort, replayPort, port] = [await freePort(), await freePort(), await freePort()];
    const engine = await sim({ kv: { port: kvPort, replayPort }, lora: true });
    const adapterDir = mkdtempSync(join(tmpdir(), 'brix-proc-lora-'));
    const proc = await startApp('ai-runtime', {
      env: {
        BRIX_PORT: String(port),
        BRIX_MODEL: MODEL,
        BRIX_POD_NAME: 'engine-7',
        BRIX_ENGINE_URL: engine.url,
        NATS_URL: nats.url,
        BRIX_ARTIFACT_CACHE_DIR: mkdtempSync(join(tmpdir(), 'brix-runtime-proc-')),
        BRIX_ARTIFACT_LOCAL_ROOTS: adapterDir,
        BRIX_KV_EVENTS_ENDPOINT: `tcp://127.0.0.1:${kvPort}`,
        BRIX_KV_EVENTS_REPLAY_ENDPOINT: `tcp://127.0.0.1:${replayPort}`,
        BRIX_ADVERTISE_URL: `http://127.0.0.1:${port}`,
        BRIX_LOG_LEVEL: 'warn',
      },
      readyUrl: `http://127.0.0.1:${port}/healthz`,
      readyTimeoutMs: 60_000,
    });
    const base = `http://127.0.0.1:${port}`;
    try {
      const first = await waitFor(() => snapshots.find((x) => x.pod === 'engine-7'), 'a snapshot from the process');
      expect(first).toMatchObject({ model: MODEL, engine: 'vllm', url: engine.url });
      await waitFor(() => lifecycle.find((e) => e.pod === 'engine-7' && e.phase === 'ready'), 'ready');
      expect(lifecycle.find((e) => e.pod === 'engine-7')!.sidecarUrl).toBe(base);

      const load = await post(`${base}/v1/lora_adapter/load`, { lora_name: 'proc-lora', artifact_url: adapterDir });
      expect(load.status).toBe(200);
      await waitFor(() => adapterEvents.find((e) => e.pod === 'engine-7' && e.kind === 'loaded'), 'the adapter event');

      await waitFor(async () => {
        const text = await (await fetch(`${base}/metrics`)).text();
        return /^brix_runtime_kv_publisher_connected\{service="ai-runtime"\} 1$/m.test(text);
      }, 'the KV subscription');
      for (let i = 0; !kv.some((k) => k.batch.pod === 'engine-7'); i++) {
        if (i === 20) throw new Error('no KV batch from the process');
        await generate(engine, prompt(`proc${i}-`, 40), 1);
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(kv.find((k) => k.batch.pod === 'engine-7')!.batch.events.some((e) => e.type === 'BlockStored')).toBe(true);
      expect((await fetch(`${base}/readyz`)).status).toBe(200);
    } finally {
      expect(await proc.stop()).toBe(0);
    }
  });

  it('refuses to start without a model name, naming the variable', async () => {
    const port = await freePort();
    await expect(
      startApp('ai-runtime', {
        env: { BRIX_PORT: String(port), BRIX_MODEL: '', BRIX_ENGINE_URL: 'http://127.0.0.1:9' },
        readyUrl: `http://127.0.0.1:${port}/healthz`,
        readyTimeoutMs: 30_000,
      }),
    ).rejects.toThrow(/invalid configuration: BRIX_MODEL/);
  });
});
