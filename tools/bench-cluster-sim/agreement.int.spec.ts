import { estimateCapacity } from '@brix/engine-model';
import { defaultAgreementSetup as setup, runAgreement, startEngines } from './agreement';

describe('live engine-sim vs cluster-sim on the same workload', () => {
  let engines: Awaited<ReturnType<typeof startEngines>> | undefined;
  beforeAll(async () => {
    engines = await startEngines(setup);
  });
  afterAll(async () => {
    await engines?.stop();
  });

  it('agree on mean TTFT within 20% at moderate load', async () => {
    const r = await runAgreement(setup, engines!.urls);
    // 10 req/s for 30 s of Poisson arrivals: ≈300 requests, every one answered on both sides
    expect(r.requests).toBeGreaterThan(250);
    expect(r.live.ttftMs.count).toBe(r.requests);
    expect(r.sim.ttftMs.count).toBe(r.requests);
    // moderate load, not an idle cluster: batching makes the mean ITL at least 15% longer than a lone request's step
    const lone = estimateCapacity({ model: setup.model, gpu: setup.gpu, maxModelLen: setup.maxModelLen }).decodeStepMsAtBatch1;
    expect(r.sim.itlMs.mean).toBeGreaterThan(lone * 1.15);
    // the claim: simulated TTFT stands for the live one
    expect(Math.abs(r.ttftMeanError)).toBeLessThanOrEqual(0.2);
    // and so do whole-request latencies
    expect(Math.abs(r.e2eMeanError)).toBeLessThanOrEqual(0.2);
  });
});
