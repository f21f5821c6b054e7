import { join } from 'node:path';
import { benchRouting, resolveRoutingBenchOptions, RoutingBenchUsageError } from '@brix/bench-routing';
import { type Command, type CommandIo, UsageError } from './command';

/** `brix bench routing`: the gateway's routing strategies over seeded workloads, simulated or live. */
export function benchRoutingCommand(root: string, bundleDir: string, argv: readonly string[]): Command {
  return {
    path: ['bench', 'routing'],
    summary: 'compare routing strategies over seeded workloads: simulated (cluster-sim) or live (gateway + engine-sim)',
    details:
      "sim: cluster-sim in virtual time with the gateway's real Router (default 8 engines); live: a gateway process and\n" +
      'engine-sim processes over HTTP, streamed and timed by the client (default 3 engines). Load is a fraction of the\n' +
      'saturated capacity measured with least-request in the same run. Weighted strategies are written with `+`:\n' +
      '--strategies least-request,prefix-cache:2+least-request:1. Results: docs/benchmarks/routing.md (with --write).',
    options: {
      mode: { type: 'string', default: 'sim', value: 'sim|live', description: 'simulated or live' },
      workloads: {
        type: 'string',
        value: 'LIST',
        description: 'shared-prefix, multi-turn, sharegpt, bird-sql (default: all four for sim; shared-prefix,sharegpt live)',
      },
      strategies: {
        type: 'string',
        value: 'LIST',
        description:
          'routing strategies (default: random, least-request, throughput, prefix-cache, prefix-cache:2+least-request:1, sticky-until-saturated; session-affinity on multi-turn)',
      },
      seed: { type: 'string', default: '1', value: 'N', description: 'seed of workloads and simulation' },
      duration: { type: 'string', value: 'S', description: 'seconds of arrivals per run (default: 600 sim, 40 live)' },
      warmup: {
        type: 'string',
        value: 'S',
        description: 'seconds not measured at the start of each run (default: duration / 5)',
      },
      engines: { type: 'string', value: 'N', description: 'engines (default: 8 sim, 3 live)' },
      gpu: { type: 'string', value: 'TYPE', description: 'simulated GPU (default: A100-40GB sim, A10 live)' },
      model: { type: 'string', default: 'llama-3-8b', value: 'ID', description: 'simulated model (engine-model catalogue id)' },
      load: { type: 'string', default: '0.8', value: 'F', description: 'offered load as a fraction of the measured capacity' },
      write: { type: 'boolean', description: 'write the tables and plots into docs/benchmarks/routing.md' },
    },
    async run(values, io: CommandIo) {
      let options;
      try {
        options = resolveRoutingBenchOptions(values as Record<string, string | boolean | undefined>);
      } catch (err) {
        if (err instanceof RoutingBenchUsageError) throw new UsageError(err.message);
        throw err;
      }
      const shown = argv.filter((a) => a !== '--write').join(' ');
      await benchRouting(options, {
        root,
        command: `npm run brix -- ${shown}`,
        out: io.out,
        liveScripts: async () => ({
          engine: join(bundleDir, '..', '..', 'apps', 'engine-sim', 'main.cjs'),
          gateway: join(bundleDir, '..', '..', 'apps', 'gateway', 'main.cjs'),
        }),
      });
      return 0;
    },
  };
}
