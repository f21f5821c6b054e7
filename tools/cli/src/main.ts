// The `brix` command: `brix up` (the local stack), `brix bench …` (benchmarks). Bundled by bin/brix.mjs.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WallClock } from '@brix/clock';
import { startSidecar } from '@brix/runtime-core';
import { benchRoutingCommand } from './bench';
import { type Command, dispatch } from './command';
import { type StackOptions } from './stack';
import { ENGINE_SCRIPT_FROM_CLI_BUNDLE, explicitFlags, upCommand } from './up';

/** The embedded stack's sidecar: the ai-runtime composition, in the stack's process, on the stack's bus. */
const attachSidecar: NonNullable<StackOptions['attachSidecar']> = (engine, deps) =>
  startSidecar({
    model: engine.model,
    pod: engine.id,
    engineUrl: engine.url,
    port: deps.port,
    host: new URL(engine.url).hostname,
    cacheDir: join(tmpdir(), 'brix-stack-artifacts', engine.id),
    bus: deps.bus,
    logger: deps.logger.child({ component: 'ai-runtime' }),
    clock: new WallClock(),
    ...(engine.gpuType ? { gpuType: engine.gpuType } : {}),
  });

export function commands(env: NodeJS.ProcessEnv, argv: readonly string[]): Command[] {
  return [
    upCommand(env, ENGINE_SCRIPT_FROM_CLI_BUNDLE(__dirname), explicitFlags(argv), attachSidecar),
    // The bundle lives in dist/tools/cli: the repository root is three levels up.
    benchRoutingCommand(join(__dirname, '..', '..', '..'), __dirname, argv),
  ];
}

/** Runs the CLI; resolves with the exit status. */
export async function run(argv: readonly string[]): Promise<number> {
  const io = { out: (l: string) => process.stdout.write(`${l}\n`), err: (l: string) => process.stderr.write(`${l}\n`) };
  try {
    return await dispatch('brix', commands(process.env, argv), argv, io);
  } catch (err) {
    io.err(`brix: ${(err as Error).stack ?? String(err)}`);
    return 1;
  }
}
