/**
 * Builders for the objects tests seed into the fake API server: engine pods labelled the Brix (or
 * AIBrix) way, and workloads with a `/scale` subresource.
 */
import { type EngineInfo } from '@brix/discovery';
import { AibrixLabels, BrixAnnotations, BrixLabels } from '../pod-engine';
import { type FakeObject } from './fake-api-server';

export interface EnginePodSpec {
  name: string;
  namespace?: string;
  /** Model label value. */
  model: string;
  /** Which label carries the model: Brix's (default) or AIBrix's (then the port goes in `model.aibrix.ai/port`). */
  labelling?: 'brix' | 'aibrix';
  servedModelName?: string;
  /** Pod IP; undefined = not assigned yet. */
  ip?: string;
  port?: number;
  sidecarPort?: number;
  gpuType?: string;
  node?: string;
  /** Pod phase (default Running). */
  phase?: 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';
  /** The Ready condition (default true). */
  ready?: boolean;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
}

/** A v1 Pod as the API server would hold it for an engine (status included: seed it with `put`). */
export function enginePod(spec: EnginePodSpec): FakeObject {
  const aibrix = spec.labelling === 'aibrix';
  const labels: Record<string, string> = {
    ...spec.labels,
    [aibrix ? AibrixLabels.model : BrixLabels.model]: spec.model,
    ...(spec.gpuType ? { [BrixLabels.gpuType]: spec.gpuType } : {}),
    ...(aibrix && spec.port !== undefined ? { [AibrixLabels.port]: String(spec.port) } : {}),
  };
  const annotations: Record<string, string> = {
    ...spec.annotations,
    ...(!aibrix && spec.port !== undefined ? { [BrixAnnotations.enginePort]: String(spec.port) } : {}),
    ...(spec.sidecarPort !== undefined ? { [BrixAnnotations.sidecarPort]: String(spec.sidecarPort) } : {}),
    ...(spec.servedModelName ? { [BrixAnnotations.servedModelName]: spec.servedModelName } : {}),
  };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: spec.name,
      namespace: spec.namespace ?? 'default',
      labels,
      annotations,
      ...(spec.finalizers ? { finalizers: spec.finalizers } : {}),
    },
    spec: {
      ...(spec.node ? { nodeName: spec.node } : {}),
      containers: [{ name: 'engine', image: 'vllm/vllm-openai' }],
    },
    status: {
      phase: spec.phase ?? 'Running',
      ...(spec.ip ? { podIP: spec.ip, podIPs: [{ ip: spec.ip }] } : {}),
      conditions: [{ type: 'Ready', status: (spec.ready ?? true) ? 'True' : 'False' }],
    },
  };
}

/** The pod that the Kubernetes EngineDirectory maps back to `engine` (its URL's host and port become IP and port). */
export function enginePodFor(engine: EngineInfo, namespace = 'default'): FakeObject {
  const url = new URL(engine.url);
  const base = enginePod({
    name: engine.id,
    namespace,
    model: engine.model,
    ip: url.hostname.replace(/^\[|\]$/g, ''),
    port: Number(url.port || (url.protocol === 'https:' ? 443 : 80)),
    gpuType: engine.gpuType,
    node: engine.node,
    ready: engine.ready,
    labels: { ...engine.labels },
    sidecarPort: engine.sidecarUrl ? Number(new URL(engine.sidecarUrl).port) : undefined,
  });
  return base;
}

export interface WorkloadSpec {
  name: string;
  namespace?: string;
  kind?: 'Deployment' | 'StatefulSet' | 'ReplicaSet';
  /** spec.replicas (desired). */
  replicas: number;
  /** status.replicas (what the controller counted); default equal to `replicas`. */
  currentReplicas?: number;
  matchLabels?: Record<string, string>;
}

/** An apps/v1 workload with a pod selector and template, as seeded for `/scale` tests. */
export function workload(spec: WorkloadSpec): FakeObject {
  const matchLabels = spec.matchLabels ?? { app: spec.name };
  return {
    apiVersion: 'apps/v1',
    kind: spec.kind ?? 'Deployment',
    metadata: { name: spec.name, namespace: spec.namespace ?? 'default', labels: { ...matchLabels } },
    spec: {
      replicas: spec.replicas,
      selector: { matchLabels },
      template: {
        metadata: { labels: { ...matchLabels } },
        spec: { containers: [{ name: 'engine', image: 'vllm/vllm-openai' }] },
      },
    },
    status: { replicas: spec.currentReplicas ?? spec.replicas },
  };
}
