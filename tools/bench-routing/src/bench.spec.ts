import { Progress } from './progress';
import { resolveRoutingBenchOptions, RoutingBenchUsageError } from './index';
import { parseStrategies } from './scenario';
import { runSimBench, type SimPlan } from './sim';

const small: SimPlan = {
  engines: 4,
  model: 'llama-3-8b',
  gpu: 'A10',
  seed: 3,
  durationS: 20,
  warmupS: 4,
  load: 0.8,
  probeS: 20,
  workloads: ['shared-prefix', 'multi-turn'],
  strategies: ['least-request', 'prefix-cache'],
  explicitStrategies: true,
};

describe('brix bench routing, simulated', () => {
  it('gives identical numbers for the same seed, and others for another seed', () => {
    const a = runSimBench(small);
    const b = runSimBench(small);
    expect(b).toEqual(a);
    expect(a.rows).toHaveLength(4);
    for (const r of a.rows) {
      expect(r.requests).toBeGreaterThan(0);
      expect(r.ttftMs.p99).toBeGreaterThanOrEqual(r.ttftMs.p50);
      expect(r.perEngine).toHaveLength(4);
    }
    const c = runSimBench({ ...small, seed: 4, workloads: ['shared-prefix'] });
    expect(c.rows[0]!.ttftMs).not.toEqual(a.rows[0]!.ttftMs);
  });
});

describe('options', () => {
  it('applies mode defaults and reads weighted strategies written with +', () => {
    const o = resolveRoutingBenchOptions({ mode: 'live', strategies: 'least-request,prefix-cache:2+least-request:1' });
    expect(o).toMatchObject({ mode: 'live', engines: 3, gpu: 'A10', durationS: 40, warmupS: 8, load: 0.8 });
    expect(o.strategies).toEqual(['least-request', 'prefix-cache:2,least-request:1']);
    expect(parseStrategies(' a, ,b ')).toEqual(['a', 'b']);
  });

  it.each([
    [{ mode: 'fast' }, /--mode must be sim or live/],
    [{ workloads: 'sharegpt,nope' }, /--workloads: unknown nope/],
    [{ load: '0' }, /--load must be/],
    [{ duration: '10', warmup: '10' }, /--warmup must be/],
    [{ engines: '2.5' }, /--engines must be an integer/],
  ])('refuses %j', (raw, message) => {
    expect(() => resolveRoutingBenchOptions(raw)).toThrow(RoutingBenchUsageError);
    expect(() => resolveRoutingBenchOptions(raw)).toThrow(message);
  });
});

describe('progress bar', () => {
  it('draws in place on a terminal and prints a line per step otherwise', () => {
    let t = 0;
    const tty: string[] = [];
    const p = new Progress(
      2,
      (s) => tty.push(s),
      true,
      () => (t += 200),
    );
    p.update('a', 0.5);
    p.done('a');
    p.done('b');
    expect(tty[0]).toMatch(/^\r\[#{8}-{22}\]  25% 0\/2 .* a/);
    expect(tty.at(-1)).toBe('\n');
    const plain: string[] = [];
    const q = new Progress(2, (s) => plain.push(s), false);
    q.update('a', 0.5);
    q.done('a', 'detail');
    expect(plain).toEqual(['[1/2] a — detail\n']);
  });
});
