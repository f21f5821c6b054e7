/**
 * How an engine pod describes itself to Brix: the label and annotation contract, and the pure mapping
 * from a pod to the EngineDirectory's {@link EngineInfo}. See the README for the contract in prose.
 */
import { isIPv6 } from 'node:net';
import { type EngineInfo } from '@brix/discovery';
import { type V1Pod } from '@kubernetes/client-node';

/** Labels are selectable; Brix selects engine pods by `model` and routes by `gpuType`. */
export const BrixLabels = {
  /** The model the pod serves, in label-safe form. Its presence makes the pod an engine. */
  model: 'brix.io/model',
  /** Accelerator type (`H100`, `A10`, `L4`); optional. */
  gpuType: 'brix.io/gpu-type',
} as const;

/** Annotations carry what selectors do not need, or what labels cannot hold. */
export const BrixAnnotations = {
  /**
   * The exact served model name when it is not a valid label value (`meta-llama/Llama-3.1-8B-Instruct`
   * has a `/`); overrides the `brix.io/model` label's value as the engine's model.
   */
  servedModelName: 'brix.io/served-model-name',
  /** Port of the engine's OpenAI-compatible HTTP server; default {@link DEFAULT_ENGINE_PORT}. */
  enginePort: 'brix.io/engine-port',
  /** Port of the ai-runtime sidecar beside the engine; no sidecar when absent. */
  sidecarPort: 'brix.io/sidecar-port',
} as const;

/** AIBrix's labels, accepted so that pods deployed for AIBrix are discovered unchanged. */
export const AibrixLabels = {
  model: 'model.aibrix.ai/name',
  port: 'model.aibrix.ai/port',
} as const;

/** vLLM's default `--port`. */
export const DEFAULT_ENGINE_PORT = 8000;

export type PodEngineResult =
  | { readonly kind: 'engine'; readonly engine: EngineInfo }
  /** Not an engine pod (no model label), or not routable yet (no IP), or finished (Succeeded/Failed). */
  | { readonly kind: 'ignored'; readonly reason: string }
  /** Labelled as an engine but misconfigured; worth a warning. */
  | { readonly kind: 'invalid'; readonly reason: string };

export interface PodEngineOptions {
  /** Also read AIBrix's labels (default true). */
  aibrixCompat?: boolean;
  /** Engine ids are `<namespace>/<pod>` when true (watching all namespaces), the pod name otherwise. */
  qualifyIds?: boolean;
}

function parsePort(raw: string | undefined): number | undefined | 'invalid' {
  if (raw === undefined) return undefined;
  if (!/^[0-9]{1,5}$/.test(raw.trim())) return 'invalid';
  const port = Number(raw);
  return port >= 1 && port <= 65535 ? port : 'invalid';
}

const hostPart = (ip: string) => (isIPv6(ip) ? `[${ip}]` : ip);

/** The pod's Ready condition is True: its readiness probes pass (the kubelet's verdict). */
function readyCondition(pod: V1Pod): boolean {
  return (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

/**
 * Maps a pod to an engine. Ready means: phase Running, the Ready condition True, and not being deleted
 * (a pod with a deletionTimestamp is draining: listed, not ready, until it is gone).
 */
export function podToEngine(pod: V1Pod, options: PodEngineOptions = {}): PodEngineResult {
  const compat = options.aibrixCompat ?? true;
  const labels = pod.metadata?.labels ?? {};
  const annotations = pod.metadata?.annotations ?? {};
  const name = pod.metadata?.name ?? '';
  const labelModel = labels[BrixLabels.model] ?? (compat ? labels[AibrixLabels.model] : undefined);
  if (labelModel === undefined) return { kind: 'ignored', reason: 'no model label' };
  const model = annotations[BrixAnnotations.servedModelName] ?? labelModel;
  if (model === '') return { kind: 'invalid', reason: `pod ${name} has an empty model name` };

  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return { kind: 'ignored', reason: `pod ${name} has finished (${phase})` };
  const ip = pod.status?.podIP;
  if (!ip) return { kind: 'ignored', reason: `pod ${name} has no IP yet` };

  const portRaw = annotations[BrixAnnotations.enginePort] ?? (compat ? labels[AibrixLabels.port] : undefined);
  const port = parsePort(portRaw) ?? DEFAULT_ENGINE_PORT;
  if (port === 'invalid') return { kind: 'invalid', reason: `pod ${name} has an invalid engine port "${portRaw}"` };
  const sidecarRaw = annotations[BrixAnnotations.sidecarPort];
  const sidecarPort = parsePort(sidecarRaw);
  if (sidecarPort === 'invalid') return { kind: 'invalid', reason: `pod ${name} has an invalid sidecar port "${sidecarRaw}"` };

  const id = options.qualifyIds ? `${pod.metadata?.namespace ?? ''}/${name}` : name;
  const gpuType = labels[BrixLabels.gpuType];
  const node = pod.spec?.nodeName;
  const engine: EngineInfo = {
    id,
    model,
    url: `http://${hostPart(ip)}:${port}`,
    ready: phase === 'Running' && readyCondition(pod) && !pod.metadata?.deletionTimestamp,
    labels: { ...labels },
    ...(gpuType ? { gpuType } : {}),
    ...(sidecarPort !== undefined ? { sidecarUrl: `http://${hostPart(ip)}:${sidecarPort}` } : {}),
    ...(node ? { node } : {}),
  };
  return { kind: 'engine', engine };
}
