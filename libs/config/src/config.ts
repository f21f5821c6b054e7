import { readFileSync } from 'node:fs';
import Type, { type Static, type TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import Value from 'typebox/value';

/** One configuration setting: its environment variable, schema (with its default) and meaning. */
export interface Setting<S extends TSchema = TSchema> {
  env: string;
  schema: S;
  description: string;
}

export type ConfigSpec = Record<string, Setting>;
export type ConfigOf<C extends ConfigSpec> = { [K in keyof C]: Static<C[K]['schema']> };

/** Declares a setting; the schema's `default` applies when neither env nor file sets it. */
export function setting<S extends TSchema>(env: string, schema: S, description: string): Setting<S> {
  return { env, schema, description };
}

/** Start-up configuration is invalid. The message is one line naming the variable, value and rule. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'BRIX_CONFIG_INVALID';
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(message);
  }
}

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  /**
   * Environment variable holding the path of a JSON file with settings by key (`{"port": 8888}`).
   * Environment variables override the file. Default `BRIX_CONFIG_FILE`.
   */
  fileVariable?: string;
}

const quote = (v: unknown) =>
  typeof v === 'string' ? JSON.stringify(v.length > 80 ? v.slice(0, 77) + '...' : v) : JSON.stringify(v);

function fromEnvString(schema: TSchema, raw: string): unknown {
  const s = schema as { type?: string; items?: TSchema };
  if (s.type === 'array') {
    const trimmed = raw.trim();
    if (trimmed.startsWith('[')) return JSON.parse(trimmed);
    return trimmed === '' ? [] : trimmed.split(',').map((p) => Value.Convert(s.items ?? Type.String(), p.trim()));
  }
  if (s.type === 'object') return JSON.parse(raw);
  return Value.Convert(schema, raw);
}

/**
 * Reads settings from the environment (and optionally a JSON file), converts strings to the declared
 * types, applies defaults and validates. Throws {@link ConfigError} for the first bad setting.
 */
export function loadConfig<C extends ConfigSpec>(spec: C, options: LoadOptions = {}): ConfigOf<C> {
  const env = options.env ?? process.env;
  const fileVar = options.fileVariable ?? 'BRIX_CONFIG_FILE';
  let file: Record<string, unknown> = {};
  const path = env[fileVar];
  if (path) {
    try {
      file = JSON.parse(readFileSync(path, 'utf8'));
    } catch (err) {
      throw new ConfigError(fileVar, `invalid configuration: ${fileVar}=${quote(path)}: ${(err as Error).message}`);
    }
  }

  const out: Record<string, unknown> = {};
  for (const [key, { env: name, schema }] of Object.entries(spec)) {
    const raw = env[name];
    let value: unknown;
    let source: string;
    if (raw !== undefined && raw !== '') {
      source = `${name}=${quote(raw)}`;
      try {
        value = fromEnvString(schema, raw);
      } catch (err) {
        throw new ConfigError(name, `invalid configuration: ${source}: ${(err as Error).message}`);
      }
    } else if (key in file) {
      source = `${key}=${quote(file[key])} (in ${path})`;
      value = file[key];
    } else {
      source = `${name} (unset)`;
      value = Value.Default(schema, undefined);
    }
    const validator = Compile(schema);
    if (!validator.Check(value)) {
      const first = validator.Errors(value)[0];
      const where = first?.instancePath ? ` at ${first.instancePath}` : '';
      throw new ConfigError(name, `invalid configuration: ${source}${where} ${first?.message ?? 'is invalid'}`);
    }
    out[key] = value;
  }
  return out as ConfigOf<C>;
}

/** For mains: loads the config or prints the one-line reason and exits with status 1. */
export function loadConfigOrExit<C extends ConfigSpec>(spec: C, options: LoadOptions = {}): ConfigOf<C> {
  try {
    return loadConfig(spec, options);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}

/** A Markdown table of the settings, for a service's README. */
export function describeConfig(spec: ConfigSpec): string {
  const rows = Object.values(spec).map(({ env, schema, description }) => {
    const d = (schema as { default?: unknown }).default;
    return `| \`${env}\` | ${d === undefined ? '' : `\`${JSON.stringify(d)}\``} | ${description} |`;
  });
  return ['| variable | default | meaning |', '|---|---|---|', ...rows].join('\n');
}

/**
 * For mains: the handler of a failed start-up. A configuration mistake prints its one line; anything
 * else prints the service name and the stack. Exits with status 1 either way.
 */
export function exitOnStartupError(service: string): (err: unknown) => never {
  return (err) => {
    if (err instanceof ConfigError) process.stderr.write(`${err.message}\n`);
    else process.stderr.write(`${service} failed to start: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  };
}
