import { type Contract } from '../contract';
import {
  AcceleratorHealth,
  AdapterEvents,
  allContracts,
  EngineLifecycle,
  EngineLoad,
  GatewayRequests,
  KvEvents,
  KvPoolEvents,
  ScaleDecisions,
} from './index';

const ts = 1_764_000_000_000;

// One valid message per contract, with the subject parameters it is published under.
const samples: Array<{ contract: Contract; params: object; message: unknown; subject: string }> = [
  {
    contract: EngineLoad,
    params: { model: 'meta-llama/Llama-3.1-8B', pod: 'engine-0' },
    subject: 'brix.engine.load.meta-llama/Llama-3%2E1-8B.engine-0',
    message: {
      v: 1,
      model: 'meta-llama/Llama-3.1-8B',
      pod: 'engine-0',
      ts,
      running: 3,
      waiting: 1,
      kvUsage: 0.42,
      prefixHitRate: null,
      promptTokensPerSec: 1200,
      generationTokensPerSec: 300,
      loadedAdapters: ['sql-lora'],
    },
  },
  {
    contract: GatewayRequests,
    params: {},
    subject: 'brix.gateway.requests',
    message: {
      v: 1,
      gateway: 'gw-1',
      ts,
      requests: [
        {
          requestId: 'r1',
          model: 'm',
          pod: 'engine-0',
          status: 200,
          stream: true,
          inputTokens: 10,
          outputTokens: 5,
          startedAt: ts,
          latencyMs: 12.5,
          ttftMs: 3,
        },
      ],
    },
  },
  {
    contract: AdapterEvents,
    params: { model: 'llama' },
    subject: 'brix.adapter.events.llama',
    message: { v: 1, model: 'llama', adapter: 'sql-lora', pod: 'engine-1', kind: 'loaded', ts },
  },
  {
    contract: KvEvents,
    params: { model: 'llama', pod: 'engine-1' },
    subject: 'brix.kv.events.llama.engine-1',
    message: {
      v: 1,
      model: 'llama',
      pod: 'engine-1',
      seq: 7,
      ts,
      events: [
        {
          type: 'BlockStored',
          blockHashes: ['ffffffffffffffff'],
          parentBlockHash: null,
          tokenIds: [1, 2],
          blockSize: 2,
          loraId: null,
          medium: 'GPU',
        },
        { type: 'BlockRemoved', blockHashes: ['00000000000000a1'], medium: 'GPU' },
        { type: 'AllBlocksCleared' },
      ],
    },
  },
  {
    contract: KvPoolEvents,
    params: { node: 'kv-0' },
    subject: 'brix.kvcache.events.kv-0',
    message: { v: 1, node: 'kv-0', seq: 0, ts, changes: [{ type: 'admitted', model: 'llama', blockHashes: ['ab'] }] },
  },
  {
    contract: EngineLifecycle,
    params: {},
    subject: 'brix.engine.lifecycle',
    message: { v: 1, model: 'llama', pod: 'engine-0', phase: 'ready', ts, url: 'http://127.0.0.1:8000' },
  },
  {
    contract: AcceleratorHealth,
    params: { node: 'node-a' },
    subject: 'brix.accelerator.health.node-a',
    message: {
      v: 1,
      node: 'node-a',
      ts,
      accelerators: [
        {
          index: 0,
          product: 'NVIDIA H100 80GB HBM3',
          status: 'warn',
          checks: [{ name: 'temperature', status: 'warn', value: 87, unit: 'C' }],
        },
      ],
    },
  },
  {
    contract: ScaleDecisions,
    params: {},
    subject: 'brix.scale.decisions',
    message: {
      v: 1,
      autoscaler: 'llama-kpa',
      target: { kind: 'Deployment', name: 'llama' },
      algorithm: 'kpa',
      from: 2,
      to: 4,
      reason: 'panic window: concurrency 2.3× target',
      ts,
    },
  },
];

describe('event contracts', () => {
  it('has a sample for every contract, so none goes untested', () => {
    expect(samples.map((s) => s.contract.name).sort()).toEqual(allContracts.map((c) => c.name).sort());
  });

  describe.each(samples.map((s) => [s.contract.name, s] as const))('%s', (_name, { contract, params, message, subject }) => {
    it('builds its subject and the subject is covered by its pattern', () => {
      const built = contract.subject(params);
      expect(built).toBe(subject);
      const pattern = contract.pattern.split('.');
      const tokens = built.split('.');
      // `>` covers one or more trailing tokens; otherwise token counts must agree.
      if (pattern.at(-1) === '>') expect(tokens.length).toBeGreaterThanOrEqual(pattern.length);
      else expect(tokens.length).toBe(pattern.length);
    });

    it('round-trips through encode and decode', () => {
      expect(contract.decode(contract.encode(message as never))).toEqual(message);
    });

    it('carries a version field equal to the contract version', () => {
      expect((message as { v: number }).v).toBe(contract.version);
    });

    it('rejects a message of another version with reason "version"', () => {
      const result = contract.tryDecode(JSON.stringify({ ...(message as object), v: contract.version + 1 }));
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.error.reason).toBe('version');
    });

    it('rejects a message with a required field removed, naming the field', () => {
      const broken = { ...(message as Record<string, unknown>) };
      const field = Object.keys(broken).find((k) => k !== 'v')!;
      delete broken[field];
      const result = contract.tryDecode(JSON.stringify(broken));
      expect(result.ok).toBe(false);
      if (!result.ok) {
        expect(result.error.reason).toBe('schema');
        expect(result.error.message).toContain(field);
      }
    });

    it('accepts fields it does not know, so producers can add optional fields without breaking consumers', () => {
      const extended = { ...(message as object), addedLater: 'x' };
      expect(contract.tryDecode(JSON.stringify(extended)).ok).toBe(true);
    });
  });

  it('refuses to encode an invalid message (a producer bug never reaches the bus)', () => {
    expect(() => EngineLoad.encode({ v: 1 } as never)).toThrow(/invalid engine-load message \(schema\)/);
  });

  it.each([
    ['kvUsage above 1', { kvUsage: 1.5 }, '/kvUsage'],
    ['negative running', { running: -1 }, '/running'],
    ['adapters not strings', { loadedAdapters: [1] }, '/loadedAdapters/0'],
  ])('engine-load rejects %s at %s', (_case, patch, path) => {
    const base = samples[0]!.message as object;
    const result = EngineLoad.tryDecode(JSON.stringify({ ...base, ...patch }));
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.details.join(' ')).toContain(path);
  });

  it('kv-events rejects a block hash that is not lowercase hex', () => {
    const base = samples.find((s) => s.contract === KvEvents)!.message as { events: unknown[] };
    const bad = { ...base, events: [{ type: 'BlockRemoved', blockHashes: ['12345678901234567890n'], medium: null }] };
    expect(KvEvents.tryDecode(JSON.stringify(bad)).ok).toBe(false);
  });
});
