import { estimateCapacity } from '@brix/engine-model';
import { type RequestOutcome, type RoutingRequest } from '@brix/routing';
import { ClusterSim, runClusterSim } from './cluster';
import { RoutingPolicyError, WorkloadError } from './errors';
import { roundRobinPolicy } from './policies/round-robin/round-robin';
import { type RoutingPolicy } from './policy';
import { type RequestRecord } from './report';
import { chat, cluster, engines, router } from './spec-support';
import { poissonWorkload } from './workload/poisson';
import { type SimRequest, type Workload } from './workload/workload';

/** The requests a workload yields, by id. */
function requestsOf(workload: Workload): Map<string, SimRequest> {
  const out = new Map<string, SimRequest>();
  const it = workload.requests();
  for (let r = it.next(); !r.done; r = it.next()) out.set(r.value.id!, r.value);
  return out;
}

/** Wraps a policy and records every hook call with the virtual time it happened at. */
function recording(inner: RoutingPolicy, now: () => number) {
  const routed: Array<{ request: RoutingRequest; engineId: string; at: number }> = [];
  const completed: Array<{ request: RoutingRequest; engineId: string; outcome: RequestOutcome; at: number }> = [];
  const removed: Array<{ engineId: string; at: number }> = [];
  const policy: RoutingPolicy = {
    name: inner.name,
    route(request, views, ctx, strategy) {
      const engineId = inner.route(request, views, ctx, strategy);
      routed.push({ request, engineId, at: now() });
      return engineId;
    },
    completed(request, engineId, outcome) {
      completed.push({ request, engineId, outcome, at: now() });
      inner.completed?.(request, engineId, outcome);
    },
    engineRemoved(engineId) {
      removed.push({ engineId, at: now() });
      inner.engineRemoved?.(engineId);
    },
  };
  return { policy, routed, completed, removed };
}

describe('ClusterSim', () => {
  it('is deterministic: the same seeds give an identical report, request by request', () => {
    const run = () => runClusterSim(cluster(4), { policy: router('prefix-cache'), workload: poissonWorkload(chat(40)) });
    const a = run();
    expect(run()).toEqual(a);
    // not a trivial run: every engine served, prefixes hit, every request answered
    expect(a.engines.every((e) => e.requests > 0)).toBe(true);
    expect(a.prefixCacheHitRate).toBeGreaterThan(0.3);
    expect(a.requests.ok).toBe(a.requests.total);
  });

  it('draws routing randomness only from its seed', () => {
    const choices = (seed: number) =>
      runClusterSim(cluster(4, { seed }), {
        policy: router('random'),
        workload: poissonWorkload(chat(20, { durationMs: 10_000 })),
      })
        .perRequest.map((r) => r.engineId)
        .join(',');
    expect(choices(1)).toBe(choices(1));
    expect(choices(2)).not.toBe(choices(1));
  });

  it.each([
    ['round-robin', () => roundRobinPolicy()],
    ['least-request', () => router('least-request')],
    ['prefix-cache', () => router('prefix-cache')],
  ])('conserves requests and tokens under %s', (_name, policy) => {
    const workload = poissonWorkload(chat(60));
    const sent = requestsOf(poissonWorkload(chat(60)));
    const sim = new ClusterSim(cluster(4), { policy: policy(), workload });
    const report = sim.run();

    // every request finished exactly once, and answered
    const ids = report.perRequest.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual([...sent.keys()].sort());
    expect(report.requests).toEqual({ total: sent.size, ok: sent.size, rejected: 0, failed: 0, aborted: 0 });

    // each request got the prompt and output length the workload gave it (no max_tokens set, so none was cut)
    for (const r of report.perRequest) {
      expect(r.promptTokens).toBe(sent.get(r.id)!.promptTokenIds.length);
      expect(r.outputTokens).toBe(sent.get(r.id)!.outputTokens);
    }

    // tokens add up: per request = per engine = the engines' own counters
    const sum = (f: (r: RequestRecord) => number) => report.perRequest.reduce((a, r) => a + f(r), 0);
    const counters = sim.engineIds().map((id) => sim.engine(id)!.snapshot().counters);
    expect(report.tokens.output).toBe(sum((r) => r.outputTokens));
    expect(report.tokens.output).toBe(counters.reduce((a, c) => a + c.generationTokens, 0));
    expect(report.tokens.prompt).toBe(counters.reduce((a, c) => a + c.promptTokens, 0));
    // no preemption at this load, so vLLM's hit counter equals the per-request cached tokens
    expect(report.tokens.cached).toBe(counters.reduce((a, c) => a + c.prefixCacheHits, 0));
    expect(report.engines.reduce((a, e) => a + e.requests, 0)).toBe(sent.size);
    expect(report.engines.reduce((a, e) => a + e.outputTokens, 0)).toBe(report.tokens.output);

    // nothing left in flight
    for (const id of sim.engineIds()) expect([sim.view(id)!.inFlight, sim.view(id)!.inFlightTokens]).toEqual([0, 0]);
  });

  it('calls the routing hooks as the gateway does: completed once per routed request, when its answer is back', () => {
    const rec = recording(router('least-request'), () => sim.clock.now());
    const sim = new ClusterSim(cluster(3, { networkLatencyMs: 2 }), { policy: rec.policy, workload: poissonWorkload(chat(30)) });
    const report = sim.run();
    const byId = new Map(report.perRequest.map((r) => [r.id, r]));

    expect(rec.routed).toHaveLength(report.requests.total);
    expect(rec.completed).toHaveLength(rec.routed.length);
    const completedById = new Map(rec.completed.map((c) => [c.request.id, c]));
    expect(completedById.size).toBe(rec.completed.length);
    for (const r of rec.routed) {
      const c = completedById.get(r.request.id)!;
      const record = byId.get(r.request.id)!;
      // the same request object, the engine it was routed to, at the time the answer reached the gateway
      expect(c.request).toBe(r.request);
      expect(c.engineId).toBe(r.engineId);
      expect(record.engineId).toBe(r.engineId);
      expect(c.at).toBe(record.finishedMs);
      expect(r.at).toBe(record.arrivalMs);
      // usage as the engine reported it
      expect(c.outcome).toEqual({ promptTokens: record.promptTokens, completionTokens: record.outputTokens, ok: true });
      // routed at arrival; the answer needs at least both network hops and the engine's 20 ms frontend
      expect(c.at - r.at).toBeGreaterThanOrEqual(2 + 20 + 2);
    }
    expect(rec.removed).toEqual([]);
  });

  it.each([
    // drain: in-flight requests on the removed engine still finish normally
    ['drain', 0],
    // kill: they end as aborted (the gateway sees a broken stream) and report no usage
    ['kill', 1],
  ] as const)('removes an engine (%s): the policy hears it, no request goes there afterwards', (mode, minAborted) => {
    const rec = recording(router('least-request'), () => sim.clock.now());
    const sim = new ClusterSim(cluster(3), { policy: rec.policy, workload: poissonWorkload(chat(30, { durationMs: 40_000 })) });
    sim.clock.setTimer(20_000, () => sim.removeEngine('engine-1', mode));
    const report = sim.run();

    expect(rec.removed).toEqual([{ engineId: 'engine-1', at: 20_000 }]);
    expect(rec.routed.filter((r) => r.engineId === 'engine-1' && r.at >= 20_000)).toEqual([]);
    expect(rec.routed.some((r) => r.engineId === 'engine-1' && r.at < 20_000)).toBe(true);
    // still exactly one completion per routed request
    expect(rec.completed).toHaveLength(rec.routed.length);
    const aborted = report.perRequest.filter((r) => r.status === 'aborted');
    expect(aborted.length).toBeGreaterThanOrEqual(minAborted);
    if (mode === 'drain') expect(report.requests.ok).toBe(report.requests.total);
    for (const r of aborted) {
      expect(r.engineId).toBe('engine-1');
      expect(r.finishedMs).toBe(20_000);
      expect(rec.completed.find((c) => c.request.id === r.id)!.outcome).toEqual({
        promptTokens: 0,
        completionTokens: 0,
        ok: false,
      });
    }
  });

  it.each([
    // drain: the engine stays up until every request routed to it is answered, the one on the wire included
    ['drain', { a: ['ok', null], b: ['ok', null] }],
    // kill: the running request breaks (aborted); the one still on the wire finds no engine (connection refused)
    ['kill', { a: ['aborted', 'upstream_error'], b: ['failed', 'upstream_error'] }],
  ] as const)('handles a request on the wire when its engine is removed (%s)', (mode, expected) => {
    const p = Int32Array.from({ length: 64 }, (_, i) => i);
    const sim = new ClusterSim(cluster(1, { networkLatencyMs: 5 }), {
      policy: roundRobinPolicy(),
      workload: [
        // a decodes 400 tokens: still running at 1 s
        { id: 'a', arrivalMs: 0, promptTokenIds: p, outputTokens: 400 },
        // b is routed at 997 ms and reaches the engine at 1002 ms, after the removal at 1000 ms
        { id: 'b', arrivalMs: 997, promptTokenIds: p, outputTokens: 5 },
      ],
    });
    sim.clock.setTimer(1_000, () => sim.removeEngine('engine-0', mode));
    const report = sim.run();
    expect(Object.fromEntries(report.perRequest.map((r) => [r.id, [r.status, r.errorCode]]))).toEqual(expected);
    expect([sim.view('engine-0')!.inFlight, sim.view('engine-0')!.ready]).toEqual([0, false]);
  });

  it.each([
    // each one-way hop adds to TTFT and e2e once on the way in and once on the way out; ITL is unchanged
    [0, 0],
    [5, 10],
    [12.5, 25],
  ])('adds %p ms of network latency each way (TTFT and e2e + %p ms)', (net, added) => {
    const run = (networkLatencyMs: number) =>
      runClusterSim(cluster(3, { networkLatencyMs }), { policy: roundRobinPolicy(), workload: poissonWorkload(chat(30)) })
        .perRequest;
    const base = new Map(run(0).map((r) => [r.id, r]));
    const shifted = run(net);
    expect(shifted).toHaveLength(base.size);
    for (const r of shifted) {
      const b = base.get(r.id)!;
      expect(r.engineId).toBe(b.engineId);
      expect(r.ttftMs! - b.ttftMs!).toBeCloseTo(added, 6);
      expect(r.e2eMs - b.e2eMs).toBeCloseTo(added, 6);
      expect(r.itlMs ?? 0).toBeCloseTo(b.itlMs ?? 0, 6);
    }
  });

  it.each([
    // the live gateway's scrape cadence
    [50],
    [100],
    // a slow sidecar: the lag grows with the interval
    [1000],
  ])('shows routers load as of the latest report (every %p ms) but exact in-flight counts', (interval) => {
    const lastReport = new Map<string, { running: number; waiting: number; kv: number; at: number }>();
    const mine = new Map<string, number>();
    let decisions = 0;
    let maxAge = 0;
    let lagged = 0;
    const inner = router('least-request');
    const policy: RoutingPolicy = {
      name: 'probe',
      route(request, views, ctx) {
        decisions++;
        for (const v of views) {
          const seen = lastReport.get(v.id)!;
          // load numbers are exactly those of the engine's latest report ...
          expect([v.running, v.waiting, v.kvUsage]).toEqual([seen.running, seen.waiting, seen.kv]);
          const age = ctx.now - seen.at;
          expect(age).toBeLessThanOrEqual(interval);
          maxAge = Math.max(maxAge, age);
          // ... which may differ from the engine's state now
          const live = sim.engine(v.id)!.snapshot();
          if (live.running + live.waiting !== v.running + v.waiting) lagged++;
          // the gateway's own count has no lag
          expect(v.inFlight).toBe(mine.get(v.id) ?? 0);
          expect(v.stale).toBe(false);
        }
        const id = inner.route(request, views, ctx);
        mine.set(id, (mine.get(id) ?? 0) + 1);
        return id;
      },
      completed(request, engineId, outcome) {
        mine.set(engineId, mine.get(engineId)! - 1);
        inner.completed!(request, engineId, outcome);
      },
    };
    const sim = new ClusterSim(cluster(3, { loadReportIntervalMs: interval }), {
      policy,
      workload: poissonWorkload(chat(40, { durationMs: 30_000 })),
      observers: {
        onLoadReport: (id, s, at) => lastReport.set(id, { running: s.running, waiting: s.waiting, kv: s.kvCacheUsage, at }),
      },
    });
    sim.run();
    expect(decisions).toBeGreaterThan(1000);
    // the lag is real: decisions saw reports nearly a whole interval old, and numbers that had moved on
    expect(maxAge).toBeGreaterThan(interval / 2);
    expect(lagged).toBeGreaterThan(0);
  });

  it.each([
    // reports every 200 ms but state counts as stale after 50 ms: routers see stale engines between reports
    [200, 50, true],
    // the gateway's defaults: 100 ms reports, 1 s freshness bound: never stale while engines report
    [100, 1000, false],
  ])('marks views stale as the gateway does (reports every %p ms, stale after %p ms)', (interval, staleAfterMs, expectStale) => {
    let sawStale = false;
    const inner = roundRobinPolicy();
    const policy: RoutingPolicy = {
      name: 'probe',
      route(request, views, ctx) {
        if (views.some((v) => v.stale)) sawStale = true;
        return inner.route(request, views, ctx);
      },
    };
    runClusterSim(cluster(2, { loadReportIntervalMs: interval, staleAfterMs }), {
      policy,
      workload: poissonWorkload(chat(20, { durationMs: 10_000 })),
    });
    expect(sawStale).toBe(expectStale);
  });

  describe('round-robin vs least-request (sanity)', () => {
    // Relative capacity as the gateway's table would give it: estimateCapacity puts an H100 at ≈8.5 A10s for this model.
    const h100PerA10 =
      estimateCapacity({ model: 'llama-3-8b', gpu: 'H100', maxModelLen: 4096 }).requestsPerSecond /
      estimateCapacity({ model: 'llama-3-8b', gpu: 'A10', maxModelLen: 4096 }).requestsPerSecond;
    const scenarios = {
      // 24 req/s: the H100s have room to spare, but a quarter of it (round-robin's share) is more than an A10 serves
      mixed: {
        config: { engines: [...engines(2, 'H100'), ...engines(2, 'A10')], capacityByGpu: { H100: h100PerA10, A10: 1 } },
        workload: () => poissonWorkload(chat(24)),
      },
      // identical H100s at moderate load (ITL ≈ 12 ms, against ≈ 7 ms at batch 1) with long-tailed outputs (σ 1.2)
      homogeneous: {
        config: { engines: engines(4, 'H100') },
        workload: () =>
          poissonWorkload(
            chat(120, { durationMs: 30_000, outputTokens: { kind: 'log-normal', median: 100, sigma: 1.2, max: 2000 } }),
          ),
      },
    };
    const run = (scenario: keyof typeof scenarios, policy: RoutingPolicy) =>
      runClusterSim(
        { ...scenarios[scenario].config, recordRequests: false },
        { policy, workload: scenarios[scenario].workload() },
      );

    it.each([
      // Round-robin splits requests evenly (CV ≈ 0) whatever the GPU, so the A10s queue; least-request weighs load
      // by capacity, sends most traffic to the H100s (uneven counts) and more than halves the mean latency.
      ['mixed', { rrRequestsCvBelow: 0.01, lrRequestsCvAbove: 0.5, lrOverRrE2eBelow: 0.5 }],
      // With equal engines both split evenly; least-request evens out occupancy (mean running) better than
      // round-robin but buys no latency: equal servers and Poisson arrivals leave it within 10% either way.
      ['homogeneous', { rrRequestsCvBelow: 0.01, lrRequestsCvAbove: 0, lrOverRrE2eBelow: 1.1 }],
    ] as const)('%s cluster', (scenario, want) => {
      const rr = run(scenario, roundRobinPolicy());
      const lr = run(scenario, router('least-request'));
      expect(rr.requests.ok).toBe(rr.requests.total);
      expect(lr.requests.ok).toBe(lr.requests.total);
      expect(rr.loadSpread.requestsCv).toBeLessThan(want.rrRequestsCvBelow);
      expect(lr.loadSpread.requestsCv).toBeGreaterThan(want.lrRequestsCvAbove);
      expect(lr.e2eMs.mean / rr.e2eMs.mean).toBeLessThan(want.lrOverRrE2eBelow);
      expect(lr.loadSpread.meanRunningCv).toBeLessThan(rr.loadSpread.meanRunningCv);
      if (scenario === 'homogeneous') expect(lr.e2eMs.mean / rr.e2eMs.mean).toBeGreaterThan(0.9);
    });
  });

  it('reports refusals as the gateway answers them, without crashing the run', () => {
    const prompt = Int32Array.from({ length: 100 }, (_, i) => i);
    const tooLong = Int32Array.from({ length: 5000 }, (_, i) => i);
    const workload: SimRequest[] = [
      { id: 'ok', arrivalMs: 0, promptTokenIds: prompt, outputTokens: 5 },
      { id: 'unknown-model', arrivalMs: 1, model: 'gpt-x', promptTokenIds: prompt },
      // 5000 tokens ≥ max_model_len 4096: the engine refuses it with 400
      { id: 'too-long', arrivalMs: 2, promptTokenIds: tooLong },
      { id: 'bad-strategy', arrivalMs: 3, promptTokenIds: prompt, strategy: 'fastest' },
      // no engine serves this adapter
      { id: 'no-adapter', arrivalMs: 4, promptTokenIds: prompt, adapter: 'sql' },
    ];
    const rec = recording(router('least-request'), () => sim.clock.now());
    const sim = new ClusterSim(cluster(2), { policy: rec.policy, workload });
    const report = sim.run();
    const outcome = Object.fromEntries(report.perRequest.map((r) => [r.id, [r.status, r.errorCode]]));
    expect(outcome).toEqual({
      ok: ['ok', null],
      'unknown-model': ['rejected', 'model_not_found'],
      'too-long': ['failed', 'invalid_request'],
      'bad-strategy': ['rejected', 'unknown_routing_strategy'],
      'no-adapter': ['rejected', 'no_capacity'],
    });
    expect(report.requests).toEqual({ total: 5, ok: 1, rejected: 3, failed: 1, aborted: 0 });
    // only routed requests are completed; the engine's refusal carries no usage
    expect(rec.completed.map((c) => [c.request.id, c.outcome.ok])).toEqual([
      ['too-long', false],
      ['ok', true],
    ]);
  });

  it('routes adapter requests only to engines that serve the adapter', () => {
    const withSql = engines(2, 'H100', { loraModules: ['sql'] });
    const report = runClusterSim(
      { engines: [...engines(2), ...withSql] },
      { policy: router('least-request'), workload: poissonWorkload(chat(20, { durationMs: 10_000 })) },
    );
    expect(report.requests.ok).toBeGreaterThan(100);
    const adapterRuns = runClusterSim(
      { engines: [...engines(2), ...withSql] },
      {
        policy: router('least-request'),
        workload: [...requestsOf(poissonWorkload(chat(20, { durationMs: 10_000 }))).values()].map((r) => ({
          ...r,
          adapter: 'sql',
        })),
      },
    );
    expect(adapterRuns.requests.ok).toBe(adapterRuns.requests.total);
    // engines 2 and 3 serve `sql`; engines 0 and 1 do not
    expect(new Set(adapterRuns.perRequest.map((r) => r.engineId))).toEqual(new Set(['engine-2', 'engine-3']));
  });

  it('serves several models at once: each request only reaches engines of its model', () => {
    const mixed = [...engines(2), ...engines(1, 'A100-80GB', { model: 'qwen2.5-7b' })];
    const llama = [...requestsOf(poissonWorkload(chat(10, { durationMs: 10_000 }))).values()];
    const qwen = [...requestsOf(poissonWorkload(chat(5, { durationMs: 10_000, seed: 9 }))).values()].map((r) => ({
      ...r,
      id: `q-${r.id}`,
      model: 'qwen2.5-7b',
    }));
    const workload = [...llama, ...qwen].sort((a, b) => a.arrivalMs - b.arrivalMs);
    const report = runClusterSim({ engines: mixed }, { policy: router('least-request'), workload });
    expect(report.requests.ok).toBe(workload.length);
    const engineOf = (prefix: string) => new Set(report.perRequest.filter((r) => r.id.startsWith(prefix)).map((r) => r.engineId));
    // engines 0 and 1 serve llama-3-8b (the default model of requests that name none), engine 2 serves qwen2.5-7b
    expect(engineOf('r')).toEqual(new Set(['engine-0', 'engine-1']));
    expect(engineOf('q-')).toEqual(new Set(['engine-2']));
  });

  it('sends nothing to an engine before its start-up is over', () => {
    const report = runClusterSim(
      { engines: [...engines(1), ...engines(1, 'H100', { id: 'late', startupMs: 5_000 })] },
      { policy: router('least-request'), workload: poissonWorkload(chat(20, { durationMs: 10_000 })) },
    );
    const late = report.perRequest.filter((r) => r.engineId === 'late');
    expect(late.length).toBeGreaterThan(0);
    expect(Math.min(...late.map((r) => r.arrivalMs))).toBeGreaterThanOrEqual(5_000);
  });

  it('runs closed-loop workloads: follow-up turns arrive after answers and hit the cache of earlier turns', () => {
    const first = requestsOf(poissonWorkload(chat(5, { durationMs: 5_000, sharedPrefix: undefined })));
    const turns = new Map<string, number>();
    const workload: Workload = {
      name: 'three turns',
      requests: () => first.values(),
      onFinished(record, submit) {
        const turn = (turns.get(record.id) ?? 1) + 1;
        if (turn > 3 || record.status !== 'ok') return;
        const previous = record.id.split('/')[0]!;
        const base = first.get(previous)!.promptTokenIds;
        // the next turn repeats the conversation so far (here: the first prompt, grown) and adds 64 new tokens
        const prompt = Int32Array.from({ length: base.length + 64 * (turn - 1) }, (_, i) =>
          i < base.length ? base[i]! : 7 * i + turn,
        );
        const id = `${previous}/${turn}`;
        turns.set(id, turn);
        submit({ id, arrivalMs: record.finishedMs + 1_000, promptTokenIds: prompt, outputTokens: 20 });
      },
    };
    const report = runClusterSim(cluster(2), { policy: router('prefix-cache'), workload });
    expect(report.requests.total).toBe(first.size * 3);
    expect(report.requests.ok).toBe(first.size * 3);
    for (const r of report.perRequest.filter((x) => x.id.endsWith('/2'))) {
      // prefix-cache routing sends turn 2 where turn 1 ran: its whole first prompt (whole blocks) is cached
      const base = first.get(r.id.split('/')[0]!)!.promptTokenIds.length;
      expect(r.cachedTokens).toBeGreaterThanOrEqual(Math.floor(base / 16) * 16 - 16);
    }
  });

  it('refuses workloads that break arrival order, and policies that choose a non-candidate', () => {
    const p = Int32Array.of(1, 2, 3);
    expect(() =>
      runClusterSim(cluster(1), {
        policy: roundRobinPolicy(),
        workload: [
          { arrivalMs: 10, promptTokenIds: p },
          { arrivalMs: 5, promptTokenIds: p },
        ],
      }),
    ).toThrow(WorkloadError);
    const rogue: RoutingPolicy = { name: 'rogue', route: () => 'engine-9' };
    expect(() => runClusterSim(cluster(1), { policy: rogue, workload: [{ arrivalMs: 0, promptTokenIds: p }] })).toThrow(
      RoutingPolicyError,
    );
  });
});
