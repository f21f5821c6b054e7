// The one place that lists every built-in plugin type. A Router can only build types registered on the
// Registry it is given; add a new plugin here (and a profile in builtin-config.ts if it is a strategy).
import { type AnyPluginFactory } from '../framework/plugin';
import { type Registry } from '../framework/registry';
import { loraAffinityFilter } from './filter/lora-affinity/lora-affinity';
import { maxScorePicker } from './picker/max-score/max-score';
import { weightedRandomPicker } from './picker/weighted-random/weighted-random';
import { leastBusyTimeScorer } from './scorer/least-busy-time/least-busy-time';
import { leastGpuCacheScorer } from './scorer/least-gpu-cache/least-gpu-cache';
import { leastKvCacheScorer } from './scorer/least-kv-cache/least-kv-cache';
import { leastLatencyScorer } from './scorer/least-latency/least-latency';
import { leastRequestScorer } from './scorer/least-request/least-request';
import { powerOfTwoScorer } from './scorer/power-of-two/power-of-two';
import { prefixCacheScorer } from './scorer/prefix-cache/prefix-cache';
import { randomScorer } from './scorer/random/random';
import { sessionAffinityScorer } from './scorer/session-affinity/session-affinity';
import { stickyUntilSaturatedScorer } from './scorer/sticky-until-saturated/sticky-until-saturated';
import { throughputScorer } from './scorer/throughput/throughput';
import { vtcBasicScorer } from './scorer/vtc-basic/vtc-basic';

export const builtinPlugins: readonly AnyPluginFactory[] = [
  loraAffinityFilter,
  randomScorer,
  leastRequestScorer,
  throughputScorer,
  leastKvCacheScorer,
  leastGpuCacheScorer,
  leastLatencyScorer,
  leastBusyTimeScorer,
  powerOfTwoScorer,
  prefixCacheScorer,
  sessionAffinityScorer,
  vtcBasicScorer,
  stickyUntilSaturatedScorer,
  maxScorePicker,
  weightedRandomPicker,
];

/** Registers every built-in plugin type on `registry` and returns it. */
export function registerBuiltinPlugins(registry: Registry): Registry {
  for (const factory of builtinPlugins) registry.register(factory);
  return registry;
}
