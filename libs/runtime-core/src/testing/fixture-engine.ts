// Test helper: a real HTTP server serving a vLLM engine's /metrics and /health with numbers the test sets,
// for unit tests of metric translation and lifecycle rules (including states engine-sim cannot be put in,
// such as a failing /metrics). Integration tests run engine-sim instead.
import { createServer, type Server } from 'node:http';
import { type AddressInfo } from 'node:net';

export interface EngineState {
  running: number;
  waiting: number;
  kvUsage: number;
  promptTokens: number;
  generationTokens: number;
  prefixQueries: number;
  prefixHits: number;
  ttft: { sum: number; count: number };
  itl: { sum: number; count: number };
  /** Adapters in the newest vllm:lora_requests_info series. */
  adapters: { running: string[]; waiting: string[] };
  /** Status of /health (vLLM answers 503 when its engine died). */
  healthStatus: number;
  /** Status of /metrics. */
  metricsStatus: number;
  /** `process_start_time_seconds`, when set (vLLM's prometheus_client exports it). */
  startTime?: number;
}

export interface FixtureEngine {
  readonly url: string;
  readonly state: EngineState;
  /** How many times /metrics was fetched. */
  scrapes: number;
  close(): Promise<void>;
}

const initial = (): EngineState => ({
  running: 0,
  waiting: 0,
  kvUsage: 0,
  promptTokens: 0,
  generationTokens: 0,
  prefixQueries: 0,
  prefixHits: 0,
  ttft: { sum: 0, count: 0 },
  itl: { sum: 0, count: 0 },
  adapters: { running: [], waiting: [] },
  healthStatus: 200,
  metricsStatus: 200,
});

/** vLLM 0.11-style exposition of `s` for `model`. */
export function vllmText(model: string, s: EngineState): string {
  const l = `engine="0",model_name="${model}"`;
  const lines = [
    '# TYPE vllm:num_requests_running gauge',
    `vllm:num_requests_running{${l}} ${s.running}`,
    '# TYPE vllm:num_requests_waiting gauge',
    `vllm:num_requests_waiting{${l}} ${s.waiting}`,
    '# TYPE vllm:kv_cache_usage_perc gauge',
    `vllm:kv_cache_usage_perc{${l}} ${s.kvUsage}`,
    '# TYPE vllm:prompt_tokens_total counter',
    `vllm:prompt_tokens_total{${l}} ${s.promptTokens}`,
    `vllm:prompt_tokens_created{${l}} 1.7641e+09`,
    '# TYPE vllm:generation_tokens_total counter',
    `vllm:generation_tokens_total{${l}} ${s.generationTokens}`,
    '# TYPE vllm:prefix_cache_queries_total counter',
    `vllm:prefix_cache_queries_total{${l}} ${s.prefixQueries}`,
    '# TYPE vllm:prefix_cache_hits_total counter',
    `vllm:prefix_cache_hits_total{${l}} ${s.prefixHits}`,
    '# TYPE vllm:time_to_first_token_seconds histogram',
    `vllm:time_to_first_token_seconds_bucket{${l},le="+Inf"} ${s.ttft.count}`,
    `vllm:time_to_first_token_seconds_count{${l}} ${s.ttft.count}`,
    `vllm:time_to_first_token_seconds_sum{${l}} ${s.ttft.sum}`,
    '# TYPE vllm:inter_token_latency_seconds histogram',
    `vllm:inter_token_latency_seconds_bucket{${l},le="+Inf"} ${s.itl.count}`,
    `vllm:inter_token_latency_seconds_count{${l}} ${s.itl.count}`,
    `vllm:inter_token_latency_seconds_sum{${l}} ${s.itl.sum}`,
    '# TYPE vllm:lora_requests_info gauge',
    'vllm:lora_requests_info{max_lora="4",running_lora_adapters="stale-lora",waiting_lora_adapters=""} 1764100000.0',
    `vllm:lora_requests_info{max_lora="4",running_lora_adapters="${s.adapters.running.join(',')}",waiting_lora_adapters="${s.adapters.waiting.join(',')}"} 1764100100.0`,
  ];
  if (s.startTime !== undefined)
    lines.push('# TYPE process_start_time_seconds gauge', `process_start_time_seconds ${s.startTime}`);
  return lines.join('\n') + '\n';
}

/** Starts the fixture engine on 127.0.0.1: an ephemeral port, or `port` (a restart in the same place). */
export async function startFixtureEngine(
  model: string,
  options: { port?: number; state?: EngineState } = {},
): Promise<FixtureEngine> {
  const state = options.state ?? initial();
  const engine = { scrapes: 0 } as { scrapes: number };
  const server: Server = createServer((req, res) => {
    if (req.url === '/health') {
      res.writeHead(state.healthStatus).end();
      return;
    }
    if (req.url === '/metrics') {
      engine.scrapes++;
      if (state.metricsStatus !== 200) {
        res.writeHead(state.metricsStatus).end('engine error');
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(vllmText(model, state));
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return Object.assign(engine, {
    url: `http://127.0.0.1:${port}`,
    state,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}
