import { type EngineLifecycleEvent } from '@brix/contracts';
import { type MemoryEngineDirectory } from './memory-directory';

/**
 * Keeps a MemoryEngineDirectory in step with `brix.engine.lifecycle` events, for deployments where
 * engines announce themselves on the bus (sidecars, the local supervisor) rather than through
 * Kubernetes. Events for engines never seen with a URL are ignored.
 */
export function applyLifecycleEvent(directory: MemoryEngineDirectory, e: EngineLifecycleEvent): void {
  if (e.phase === 'gone') {
    directory.remove(e.pod);
    return;
  }
  const known = directory.get(e.pod);
  const url = e.url ?? known?.url;
  if (!url) return;
  const ready = e.phase === 'ready' || e.phase === 'restarted';
  directory.upsert({
    id: e.pod,
    model: e.model,
    url: url.replace(/\/+$/, ''),
    ready,
    gpuType: e.gpuType ?? known?.gpuType,
    sidecarUrl: e.sidecarUrl ?? known?.sidecarUrl,
    node: e.node ?? known?.node,
    labels: known?.labels ?? {},
  });
}
