// The `brix` command: `brix up` (the local stack), `brix bench …` (benchmarks). Bundled by bin/brix.mjs.
import { type Command, dispatch } from './command';
import { ENGINE_SCRIPT_FROM_CLI_BUNDLE, explicitFlags, upCommand } from './up';

export function commands(env: NodeJS.ProcessEnv, argv: readonly string[]): Command[] {
  return [upCommand(env, ENGINE_SCRIPT_FROM_CLI_BUNDLE(__dirname), explicitFlags(argv))];
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
