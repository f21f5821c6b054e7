import { VirtualClock } from '@brix/clock';
import { type GatewayRequestBatch, type GatewayRequestStat } from '@brix/contracts';
import { StatsBatcher } from './stats-batcher';

const stat = (id: string): GatewayRequestStat => ({
  requestId: id,
  model: 'm',
  status: 200,
  stream: false,
  inputTokens: 1,
  outputTokens: 1,
  startedAt: 0,
  latencyMs: 1,
});

describe('StatsBatcher', () => {
  it('flushes on the interval, as one batch', () => {
    const clock = new VirtualClock();
    const batches: GatewayRequestBatch[] = [];
    const b = new StatsBatcher('gw', clock, (x) => batches.push(x), 1_000, 100);
    b.record(stat('a'));
    b.record(stat('b'));
    clock.advance(999);
    expect(batches).toHaveLength(0);
    clock.advance(1);
    expect(batches.map((x) => x.requests.map((r) => r.requestId))).toEqual([['a', 'b']]);
    expect(batches[0]).toMatchObject({ v: 1, gateway: 'gw', ts: 1_000 });
  });

  it('flushes early when the batch is full, and never sends an empty batch', () => {
    const clock = new VirtualClock();
    const batches: GatewayRequestBatch[] = [];
    const b = new StatsBatcher('gw', clock, (x) => batches.push(x), 1_000, 2);
    b.record(stat('a'));
    b.record(stat('b'));
    expect(batches).toHaveLength(1);
    clock.advance(5_000);
    b.flush();
    expect(batches).toHaveLength(1);
  });
});
