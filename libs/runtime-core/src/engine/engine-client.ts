import { ScrapeError } from '@brix/engine-metrics';
import Type, { type Static } from 'typebox';
import { Compile } from 'typebox/compile';
import { Agent, request } from 'undici';

/** One card of the engine's `GET /v1/models` (vLLM's shape; fields other engines lack are optional). */
export const EngineModelCard = Type.Object({
  id: Type.String(),
  /** The base model's name for a LoRA adapter; null (or absent) for a base model. */
  parent: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  /** Where the model was loaded from: the model path, or the `lora_path` of an adapter. */
  root: Type.Optional(Type.Union([Type.String(), Type.Null()])),
});
export type EngineModelCard = Static<typeof EngineModelCard>;

const ModelList = Compile(Type.Object({ data: Type.Array(EngineModelCard) }));

/** What the sidecar asks of the engine beside it. Injected into buildRuntime, so tests can point it anywhere. */
export interface EngineClient {
  /** The engine's Prometheus text; rejects with ScrapeError (EngineUnreachableError when nothing answered) or the signal's reason. */
  fetchMetrics(signal: AbortSignal): Promise<string>;
  /** Whether the engine answers its health route with 2xx. Never rejects for an unreachable engine. */
  health(signal: AbortSignal): Promise<{ ok: true } | { ok: false; reason: string }>;
  /** The engine's model cards (`GET /v1/models`). Rejects with {@link EngineRequestError}. */
  listModels(signal: AbortSignal): Promise<EngineModelCard[]>;
  /** vLLM's `POST /v1/load_lora_adapter`. Rejects with {@link EngineRequestError}. */
  loadLoraAdapter(body: { lora_name: string; lora_path: string }, signal: AbortSignal): Promise<void>;
  /** vLLM's `POST /v1/unload_lora_adapter`. Rejects with {@link EngineRequestError}. */
  unloadLoraAdapter(body: { lora_name: string }, signal: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

/** A scrape got no answer at all (connection refused or reset): the engine's process is most likely gone. */
export class EngineUnreachableError extends Error {
  override readonly name = 'EngineUnreachableError';
  readonly code = 'BRIX_ENGINE_UNREACHABLE';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * An engine API call failed. `status` is the engine's HTTP status, absent when it never answered
 * (`timedOut` tells a timeout from an unreachable engine); `engineMessage` is the engine's own words,
 * taken from its error body whatever its shape.
 */
export class EngineRequestError extends Error {
  override readonly name = 'EngineRequestError';
  readonly code = 'BRIX_ENGINE_REQUEST_FAILED';
  constructor(
    readonly operation: string,
    readonly engineMessage: string,
    readonly status: number | undefined,
    readonly timedOut = false,
    options?: { cause?: unknown; engineType?: string },
  ) {
    super(
      status === undefined
        ? `engine ${operation} failed: ${engineMessage}`
        : `engine ${operation} answered ${status}: ${engineMessage}`,
      options,
    );
    this.engineType = options?.engineType;
  }
  /** The error `type` of the engine's body (vLLM: `NotFoundError`, `BadRequestError`…), when it had one. */
  readonly engineType: string | undefined;
}

/** Largest metrics text accepted, bytes (vLLM with many LoRA series stays far below). */
const MAX_METRICS_BYTES = 8 * 1024 * 1024;
/** Largest JSON or error body read from an engine API call, bytes. */
const MAX_API_BYTES = 4 * 1024 * 1024;

/**
 * The engine's message from an error body, whichever shape it has: `{"error":{"message"}}` (vLLM
 * ≥ 0.10.1, OpenAI), flat `{"message"}` (vLLM 0.10.0), FastAPI's `{"detail": string | [{msg}]}`, or
 * plain text. Empty bodies give the status line.
 */
export function engineErrorMessage(status: number, body: string): string {
  return engineError(status, body).message;
}

/** The engine's message and, for vLLM and OpenAI bodies, its error `type`. */
export function engineError(status: number, body: string): { message: string; type?: string } {
  const text = body.trim();
  try {
    const json = JSON.parse(text) as Record<string, unknown>;
    const err = json['error'];
    if (err && typeof err === 'object' && typeof (err as { message?: unknown }).message === 'string') {
      const type = (err as { type?: unknown }).type;
      return { message: (err as { message: string }).message, ...(typeof type === 'string' ? { type } : {}) };
    }
    if (typeof err === 'string') return { message: err };
    if (typeof json['message'] === 'string')
      return { message: json['message'], ...(typeof json['type'] === 'string' ? { type: json['type'] } : {}) };
    const detail = json['detail'];
    if (typeof detail === 'string') return { message: detail };
    if (Array.isArray(detail))
      return {
        message: detail
          .map((d) => (d && typeof d === 'object' && 'msg' in d ? String((d as { msg: unknown }).msg) : String(d)))
          .join('; '),
      };
  } catch {
    // Not JSON: the text is the message.
  }
  if (text) return { message: text.length > 2000 ? `${text.slice(0, 2000)}…` : text };
  return { message: `HTTP ${status}` };
}

/** An EngineClient over HTTP (undici, one small keep-alive pool to the engine). */
export function createEngineClient(baseUrl: string, options: { healthPath?: string } = {}): EngineClient {
  const base = new URL(baseUrl.replace(/\/+$/, '') + '/');
  const agent = new Agent({ connections: 4, keepAliveTimeout: 30_000 });
  const healthUrl = new URL((options.healthPath ?? '/health').replace(/^\//, ''), base);
  const metricsUrl = new URL('metrics', base);

  /** One JSON API call; resolves with the body text of a 2xx answer. */
  const call = async (
    operation: string,
    path: string,
    signal: AbortSignal,
    body?: unknown,
  ): Promise<{ status: number; text: string }> => {
    let res;
    try {
      res = await request(new URL(path, base), {
        dispatcher: agent,
        signal,
        method: body === undefined ? 'GET' : 'POST',
        ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
      });
    } catch (err) {
      if (signal.aborted)
        throw new EngineRequestError(operation, 'the engine did not answer in time', undefined, true, { cause: err });
      throw new EngineRequestError(
        operation,
        `engine at ${base.host} is unreachable: ${(err as Error).message}`,
        undefined,
        false,
        {
          cause: err,
        },
      );
    }
    const length = Number(res.headers['content-length'] ?? 0);
    if (length > MAX_API_BYTES) {
      res.body.destroy();
      throw new EngineRequestError(operation, `the engine's answer of ${length} bytes exceeds ${MAX_API_BYTES}`, res.statusCode);
    }
    let text: string;
    try {
      text = await res.body.text();
    } catch (err) {
      throw new EngineRequestError(
        operation,
        `the engine's answer was cut short: ${(err as Error).message}`,
        res.statusCode,
        signal.aborted,
        {
          cause: err,
        },
      );
    }
    if (res.statusCode < 200 || res.statusCode >= 300) {
      const said = engineError(res.statusCode, text);
      throw new EngineRequestError(operation, said.message, res.statusCode, false, said.type ? { engineType: said.type } : {});
    }
    return { status: res.statusCode, text };
  };

  return {
    async fetchMetrics(signal) {
      let res;
      try {
        res = await request(metricsUrl, { dispatcher: agent, signal });
      } catch (err) {
        if (signal.aborted) throw signal.reason;
        throw new EngineUnreachableError(`engine at ${base.host} is unreachable: ${(err as Error).message}`, { cause: err });
      }
      if (res.statusCode !== 200) {
        res.body.resume();
        throw new ScrapeError(`engine at ${base.host} answered ${res.statusCode} on /metrics`);
      }
      const length = Number(res.headers['content-length'] ?? 0);
      if (length > MAX_METRICS_BYTES) {
        res.body.destroy();
        throw new ScrapeError(`engine metrics of ${length} bytes exceed the limit of ${MAX_METRICS_BYTES}`);
      }
      return res.body.text();
    },

    async health(signal) {
      try {
        const res = await request(healthUrl, { dispatcher: agent, signal });
        res.body.resume();
        return res.statusCode >= 200 && res.statusCode < 300
          ? { ok: true }
          : { ok: false, reason: `engine health check answered ${res.statusCode}` };
      } catch (err) {
        return {
          ok: false,
          reason: signal.aborted ? 'engine health check timed out' : `engine unreachable: ${(err as Error).message}`,
        };
      }
    },

    async listModels(signal) {
      const { status, text } = await call('model list', 'v1/models', signal);
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        throw new EngineRequestError('model list', 'the engine answered /v1/models with something that is not JSON', status);
      }
      if (!ModelList.Check(json))
        throw new EngineRequestError('model list', 'the engine answered /v1/models without a list of model cards', status);
      return json.data;
    },

    async loadLoraAdapter(body, signal) {
      await call('adapter load', 'v1/load_lora_adapter', signal, body);
    },

    async unloadLoraAdapter(body, signal) {
      await call('adapter unload', 'v1/unload_lora_adapter', signal, body);
    },

    close: () => agent.close(),
  };
}
