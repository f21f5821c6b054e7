import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Command, type CommandIo, intOption, UsageError } from './command';
import { type Stack, type StackOptions, startStack } from './stack';

/** Keys a `--config` JSON file may set; flags given on the command line win. */
const CONFIG_KEYS = [
  'model',
  'engine-model',
  'gpu',
  'replicas',
  'port',
  'engine-port',
  'sidecar-port',
  'host',
  'strategy',
  'engine-arg',
  'log-level',
] as const;

function readConfigFile(path: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new UsageError(`cannot read --config ${path}: ${(err as Error).message}`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new UsageError(`--config ${path} must hold a JSON object`);
  const unknown = Object.keys(parsed).filter((k) => !(CONFIG_KEYS as readonly string[]).includes(k));
  if (unknown.length > 0)
    throw new UsageError(`--config ${path}: unknown keys ${unknown.join(', ')} (known: ${CONFIG_KEYS.join(', ')})`);
  return Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, Array.isArray(v) ? v.map(String) : String(v)]));
}

export function summary(stack: Stack, o: Pick<StackOptions, 'model' | 'gpuType' | 'replicas'>): string {
  const base = `${stack.gatewayUrl}/v1`;
  const lines = [
    '',
    `Brix is up (embedded mode, ${stack.bus === 'memory' ? 'in-memory bus' : 'NATS bus'}).`,
    '',
    `  OpenAI base URL  ${base}`,
    `  model            ${o.model}  (${o.replicas} engine-sim replica${o.replicas === 1 ? '' : 's'} on a simulated ${o.gpuType})`,
  ];
  for (const e of stack.engines()) {
    lines.push(
      `  engine           ${e.id}  ${e.url}${e.sidecarUrl ? `  sidecar ${e.sidecarUrl}` : ''}${e.ready ? '' : '  (not ready)'}`,
    );
  }
  lines.push(
    `  admin token      ${stack.adminToken}`,
    '',
    'Try:',
    `  curl ${base}/chat/completions -H 'content-type: application/json' \\`,
    `    -d '{"model":"${o.model}","messages":[{"role":"user","content":"Hello!"}],"max_tokens":32}'`,
    `  curl ${stack.gatewayUrl}/admin/engines -H 'authorization: Bearer ${stack.adminToken}'`,
    '',
    'Ctrl-C stops everything.',
  );
  return lines.join('\n');
}

export function upCommand(
  env: NodeJS.ProcessEnv,
  engineScript: string,
  explicit: ReadonlySet<string>,
  attachSidecar?: StackOptions['attachSidecar'],
): Command {
  return {
    path: ['up'],
    summary: 'run the whole stack locally: gateway, engine-sim replicas, a sidecar beside each (what `npm start` runs)',
    details:
      'Embedded mode: one process hosts the gateway and the sidecars on an in-memory bus; engines run as child processes.\n' +
      'Set NATS_URL to use a NATS server instead, and BRIX_ADMIN_TOKEN to choose the admin token (generated otherwise).',
    options: {
      model: { type: 'string', default: 'llama-3-8b', value: 'NAME', description: 'served model name clients ask for' },
      'engine-model': {
        type: 'string',
        default: 'llama-3-8b',
        value: 'ID',
        description: 'simulated model architecture (engine-model catalogue id)',
      },
      gpu: {
        type: 'string',
        default: 'H100',
        value: 'TYPE',
        description: 'simulated GPU type (A10, L20, L40S, V100, A100-80GB, H100, H200, …)',
      },
      replicas: { type: 'string', default: '2', value: 'N', description: 'engine replicas' },
      host: { type: 'string', default: '127.0.0.1', value: 'ADDR', description: 'address every service listens on' },
      port: { type: 'string', default: '8888', value: 'PORT', description: 'gateway port' },
      'engine-port': {
        type: 'string',
        default: '8000',
        value: 'PORT',
        description: 'first engine port (next free ports follow)',
      },
      'sidecar-port': { type: 'string', default: '8080', value: 'PORT', description: 'first sidecar port' },
      strategy: {
        type: 'string',
        default: 'least-request',
        value: 'NAME',
        description: 'default routing strategy of the gateway',
      },
      'engine-arg': {
        type: 'string',
        multiple: true,
        value: 'ARG',
        description: 'extra engine-sim flag, repeatable (e.g. --engine-arg=--max-num-seqs=64)',
      },
      config: { type: 'string', value: 'FILE', description: `JSON file with any of: ${CONFIG_KEYS.join(', ')}` },
      'log-level': { type: 'string', default: 'warn', value: 'LEVEL', description: 'log level of the stack process' },
    },
    async run(flags, io: CommandIo) {
      const fromFile = typeof flags['config'] === 'string' ? readConfigFile(flags['config']) : {};
      // Flags typed on the command line win over the file; the file wins over defaults.
      const values: Record<string, unknown> = {
        ...flags,
        ...Object.fromEntries(Object.entries(fromFile).filter(([k]) => !explicit.has(k))),
      };
      if (!existsSync(engineScript))
        throw new UsageError(
          `engine-sim bundle not found at ${engineScript}; run through \`npm start\` or \`npx brix\`, which build it`,
        );
      const options: StackOptions = {
        model: String(values['model']),
        engineModel: String(values['engine-model']),
        gpuType: String(values['gpu']),
        replicas: intOption(values, 'replicas', 1),
        host: String(values['host']),
        gatewayPort: intOption(values, 'port', 0),
        enginePortBase: intOption(values, 'engine-port', 1),
        sidecarPortBase: intOption(values, 'sidecar-port', 1),
        natsUrl: env['NATS_URL'] ?? '',
        adminToken: env['BRIX_ADMIN_TOKEN'] ?? '',
        engineScript,
        engineArgs: (values['engine-arg'] as string[] | undefined) ?? [],
        routingStrategy: String(values['strategy']),
        logLevel: String(values['log-level']),
        ...(attachSidecar ? { attachSidecar } : {}),
      };
      io.out(`Starting Brix: gateway, ${options.replicas} × engine-sim (${options.engineModel} on ${options.gpuType})…`);
      const stack = await startStack(options);
      io.out(summary(stack, options));
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      io.out('\nStopping Brix…');
      await stack.close();
      io.out('Stopped.');
      return 0;
    },
  };
}

/** Long flags typed on the command line (as opposed to defaults), so a --config file can fill the rest. */
export function explicitFlags(argv: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const a of argv) {
    const m = /^--([a-z-]+)/.exec(a);
    if (m) out.add(m[1]!);
  }
  return out;
}

export const ENGINE_SCRIPT_FROM_CLI_BUNDLE = (dir: string) => join(dir, '..', '..', 'apps', 'engine-sim', 'main.cjs');
