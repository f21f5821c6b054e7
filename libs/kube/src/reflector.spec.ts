import { VirtualClock } from '@brix/clock';
import { waitFor } from '@brix/testing';
import { CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { kubeConfigForUrl } from './kube-config';
import { Reflector } from './reflector';
import { enginePod, FakeKubeApiServer } from './testing';

describe('Reflector', () => {
  let fake: FakeKubeApiServer;
  let reflector: Reflector<V1Pod> | undefined;
  beforeEach(async () => {
    fake = await FakeKubeApiServer.start();
  });
  afterEach(async () => {
    await reflector?.stop();
    await fake.close();
  });

  const make = (clock: VirtualClock, events: string[] = []) => {
    const kubeConfig = kubeConfigForUrl(fake.url);
    const api = kubeConfig.makeApiClient(CoreV1Api);
    reflector = new Reflector<V1Pod>({
      kubeConfig,
      path: '/api/v1/namespaces/default/pods',
      list: () => api.listNamespacedPod({ namespace: 'default' }),
      handlers: {
        listed: (items) => events.push(`listed:${items.map((p) => p.metadata?.name).join(',')}`),
        upserted: (p) => events.push(`upserted:${p.metadata?.name}`),
        deleted: (p) => events.push(`deleted:${p.metadata?.name}`),
      },
      clock,
      retry: { initialDelayMs: 100, maxDelayMs: 400 },
    });
    return reflector;
  };

  it('backs off on the injected clock, doubling up to the cap', async () => {
    const clock = new VirtualClock(0);
    fake.setUnavailable(true);
    make(clock).start();
    const retryAt = async (attempts: number) => {
      await waitFor(() => fake.count('list') === attempts && clock.nextAt() !== undefined, `attempt ${attempts} to fail`);
      return clock.nextAt();
    };
    expect(await retryAt(1)).toBe(100); // first wait: initialDelayMs
    clock.runUntil(100);
    expect(await retryAt(2)).toBe(300); // then 200 more
    clock.runUntil(300);
    expect(await retryAt(3)).toBe(700); // then 400 more: the cap
    clock.runUntil(700);
    expect(await retryAt(4)).toBe(1100); // still capped at 400
  });

  it('keeps backing off when a list succeeds but the watch then fails at once', async () => {
    const clock = new VirtualClock(0);
    fake.setUnavailable(true);
    const r = make(clock);
    r.start();
    await waitFor(() => clock.nextAt() === 100, 'the first failure');
    fake.setUnavailable(false);
    clock.runUntil(100);
    await waitFor(() => r.listCount === 1 && fake.watchCount === 1, 'the list to pass and the watch to open');
    fake.setUnavailable(true); // cut the watch before any virtual time passed
    await waitFor(() => clock.nextAt() !== undefined, 'the watch failure');
    expect(clock.nextAt()).toBe(300); // 100 + 200: the successful list did not reset the backoff
  });

  it('waits initialDelayMs again after an informer ran healthy for maxDelayMs', async () => {
    const clock = new VirtualClock(0);
    const r = make(clock);
    fake.setUnavailable(true);
    r.start();
    await waitFor(() => clock.nextAt() === 100, 'the first failure');
    fake.setUnavailable(false);
    clock.runUntil(100);
    await r.synced;
    await waitFor(() => fake.watchCount === 1, 'the watch to open');
    clock.runUntil(500); // ran 400 ms (maxDelayMs) without failing
    fake.setUnavailable(true); // drops the watch; the re-watch is refused
    await waitFor(() => clock.nextAt() !== undefined, 'the next failure');
    expect(clock.nextAt()).toBe(600); // 500 + initialDelayMs, not + 200
  });

  it('hands a list, then watch events, to its handlers; a relist reports the whole set again', async () => {
    const events: string[] = [];
    fake.put(enginePod({ name: 'a', model: 'm' }));
    const r = make(new VirtualClock(0), events);
    r.start();
    await r.synced;
    await waitFor(() => fake.watchCount === 1, 'the watch to open');
    fake.put(enginePod({ name: 'b', model: 'm' }));
    fake.remove({ apiVersion: 'v1', kind: 'Pod', name: 'a' });
    await waitFor(() => events.includes('deleted:a'), 'the deletion');
    fake.closeWatches();
    fake.compact(); // the resume gets 410: the informer lists again
    await waitFor(() => r.listCount === 2, 'the relist');
    expect(events).toEqual(['listed:a', 'upserted:a', 'upserted:b', 'deleted:a', 'listed:b']);
  });

  it('ignores events of an informer it has stopped', async () => {
    const events: string[] = [];
    const r = make(new VirtualClock(0), events);
    r.start();
    await r.synced;
    await waitFor(() => fake.watchCount === 1, 'the watch to open');
    await r.stop();
    fake.put(enginePod({ name: 'late', model: 'm' }));
    await waitFor(() => fake.watchCount === 0, 'the watch to close');
    expect(events).toEqual(['listed:']);
  });
});
