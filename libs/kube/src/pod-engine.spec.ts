import { type V1Pod } from '@kubernetes/client-node';
import { enginePod } from './fake-api-server/builders';
import { DEFAULT_ENGINE_PORT, podToEngine } from './pod-engine';

const pod = (o: Parameters<typeof enginePod>[0]) => enginePod(o) as V1Pod;
const withMeta = (p: V1Pod, meta: Partial<NonNullable<V1Pod['metadata']>>): V1Pod => ({
  ...p,
  metadata: { ...p.metadata, ...meta },
});

describe('podToEngine', () => {
  it.each([
    // [case, pod, expected ready]
    ['Running and Ready', pod({ name: 'p', model: 'm', ip: '10.0.0.1' }), true],
    ['Running, Ready condition False (probe failing)', pod({ name: 'p', model: 'm', ip: '10.0.0.1', ready: false }), false],
    [
      'Pending with an IP (containers starting)',
      pod({ name: 'p', model: 'm', ip: '10.0.0.1', phase: 'Pending', ready: false }),
      false,
    ],
    [
      'Unknown phase (node lost) even if Ready was last True',
      pod({ name: 'p', model: 'm', ip: '10.0.0.1', phase: 'Unknown' }),
      false,
    ],
    [
      'being deleted (draining) even though still Ready',
      withMeta(pod({ name: 'p', model: 'm', ip: '10.0.0.1' }), { deletionTimestamp: new Date(0) }),
      false,
    ],
  ])('readiness: %s', (_case, p, ready) => {
    const r = podToEngine(p);
    expect(r.kind === 'engine' && r.engine.ready).toBe(ready);
  });

  it.each([
    [
      'no model label',
      { ...pod({ name: 'p', model: 'm', ip: '10.0.0.1' }), metadata: { name: 'p', labels: { app: 'x' } } },
      'no model label',
    ],
    ['no IP yet', pod({ name: 'p', model: 'm' }), 'pod p has no IP yet'],
    ['Succeeded', pod({ name: 'p', model: 'm', ip: '10.0.0.1', phase: 'Succeeded' }), 'pod p has finished (Succeeded)'],
    ['Failed', pod({ name: 'p', model: 'm', ip: '10.0.0.1', phase: 'Failed' }), 'pod p has finished (Failed)'],
  ])('ignores a pod with %s', (_case, p, reason) => {
    expect(podToEngine(p as V1Pod)).toEqual({ kind: 'ignored', reason });
  });

  it.each([
    ['a non-numeric port', { 'brix.io/engine-port': 'http' }, 'pod p has an invalid engine port "http"'],
    ['port 0', { 'brix.io/engine-port': '0' }, 'pod p has an invalid engine port "0"'],
    ['port 65536 (above the TCP range)', { 'brix.io/engine-port': '65536' }, 'pod p has an invalid engine port "65536"'],
    ['a bad sidecar port', { 'brix.io/sidecar-port': '-1' }, 'pod p has an invalid sidecar port "-1"'],
    ['an empty served model name', { 'brix.io/served-model-name': '' }, 'pod p has an empty model name'],
  ])('refuses a labelled pod with %s', (_case, annotations, reason) => {
    expect(podToEngine(pod({ name: 'p', model: 'm', ip: '10.0.0.1', annotations }))).toEqual({ kind: 'invalid', reason });
  });

  it.each([
    [
      'the default vLLM port when nothing says otherwise',
      pod({ name: 'p', model: 'm', ip: '10.0.0.1' }),
      `http://10.0.0.1:${DEFAULT_ENGINE_PORT}`,
    ],
    ['the brix.io/engine-port annotation', pod({ name: 'p', model: 'm', ip: '10.0.0.1', port: 9000 }), 'http://10.0.0.1:9000'],
    [
      'the AIBrix port label',
      pod({ name: 'p', model: 'm', ip: '10.0.0.1', port: 8080, labelling: 'aibrix' }),
      'http://10.0.0.1:8080',
    ],
    [
      'the Brix annotation over the AIBrix label',
      pod({ name: 'p', model: 'm', ip: '10.0.0.1', port: 9000, labels: { 'model.aibrix.ai/port': '8080' } }),
      'http://10.0.0.1:9000',
    ],
    ['brackets around an IPv6 pod IP', pod({ name: 'p', model: 'm', ip: 'fd00::7', port: 8000 }), 'http://[fd00::7]:8000'],
  ])('builds the URL from %s', (_case, p, url) => {
    const r = podToEngine(p);
    expect(r.kind === 'engine' && r.engine.url).toBe(url);
  });

  it('prefers the Brix model label over the AIBrix one, and the served-name annotation over both', () => {
    const both = pod({ name: 'p', model: 'brix-name', ip: '10.0.0.1', labels: { 'model.aibrix.ai/name': 'aibrix-name' } });
    expect(podToEngine(both)).toMatchObject({ engine: { model: 'brix-name' } });
    const annotated = pod({ name: 'p', model: 'brix-name', ip: '10.0.0.1', servedModelName: 'org/Model-7B' });
    expect(podToEngine(annotated)).toMatchObject({ engine: { model: 'org/Model-7B' } });
  });

  it('reads AIBrix labels only when compatibility is on', () => {
    const p = pod({ name: 'p', model: 'm', ip: '10.0.0.1', labelling: 'aibrix' });
    expect(podToEngine(p).kind).toBe('engine');
    expect(podToEngine(p, { aibrixCompat: false })).toEqual({ kind: 'ignored', reason: 'no model label' });
  });

  it('qualifies the id with the namespace on request', () => {
    const p = pod({ name: 'p', namespace: 'prod', model: 'm', ip: '10.0.0.1' });
    expect(podToEngine(p)).toMatchObject({ engine: { id: 'p' } });
    expect(podToEngine(p, { qualifyIds: true })).toMatchObject({ engine: { id: 'prod/p' } });
  });
});
