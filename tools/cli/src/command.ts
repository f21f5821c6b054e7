import { parseArgs, type ParseArgsConfig } from 'node:util';

/** One option of a command: its parseArgs spec plus the words `--help` prints. */
export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  default?: string | boolean;
  multiple?: boolean;
  /** Placeholder for the value in help, e.g. "N" or "FILE". */
  value?: string;
  description: string;
}

export interface Command {
  /** Words that select the command, e.g. ['bench', 'routing']. */
  path: readonly string[];
  summary: string;
  /** Paragraphs printed under the usage line. */
  details?: string;
  options: Record<string, OptionSpec>;
  run(values: Record<string, string | boolean | string[] | undefined>, io: CommandIo): Promise<number>;
}

export interface CommandIo {
  out(line: string): void;
  err(line: string): void;
}

/** A usage error: printed with the command's help hint, exit status 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

function optionsHelp(options: Record<string, OptionSpec>): string[] {
  const rows = Object.entries({
    ...options,
    help: { type: 'boolean', short: 'h', description: 'show this help' } as OptionSpec,
  }).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${name}${o.type === 'string' ? ` ${o.value ?? 'VALUE'}` : ''}`;
    const dflt = o.default !== undefined && o.default !== false ? ` (default: ${String(o.default)})` : '';
    return [flag, `${o.description}${dflt}`] as const;
  });
  const width = Math.max(...rows.map(([f]) => f.length)) + 2;
  return rows.map(([f, d]) => `  ${f.padEnd(width)}${d}`);
}

export function commandHelp(program: string, c: Command): string {
  const lines = [`Usage: ${program} ${c.path.join(' ')} [options]`, '', c.summary];
  if (c.details) lines.push('', c.details);
  lines.push('', 'Options:', ...optionsHelp(c.options));
  return lines.join('\n');
}

export function programHelp(program: string, commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => c.path.join(' ').length)) + 2;
  return [
    `Usage: ${program} <command> [options]`,
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.path.join(' ').padEnd(width)}${c.summary}`),
    '',
    `Run \`${program} <command> --help\` for a command's options.`,
  ].join('\n');
}

/** Finds the command whose path the arguments start with (longest match) and runs it. */
export async function dispatch(
  program: string,
  commands: readonly Command[],
  argv: readonly string[],
  io: CommandIo,
): Promise<number> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    io.out(programHelp(program, commands));
    return argv.length === 0 ? 2 : 0;
  }
  const matches = commands.filter((c) => c.path.every((w, i) => argv[i] === w)).sort((a, b) => b.path.length - a.path.length);
  const command = matches[0];
  if (!command) {
    // A group word alone (`brix bench`) lists its commands.
    const group = commands.filter((c) => c.path[0] === argv[0]);
    if (group.length > 0 && (argv.length === 1 || argv[1] === '--help' || argv[1] === '-h')) {
      io.out(programHelp(`${program}`, group));
      return argv.length === 1 ? 2 : 0;
    }
    io.err(`${program}: unknown command \`${argv.join(' ')}\`\n\n${programHelp(program, commands)}`);
    return 2;
  }
  const rest = argv.slice(command.path.length);
  const config: ParseArgsConfig = {
    args: [...rest],
    options: {
      help: { type: 'boolean', short: 'h' },
      ...Object.fromEntries(
        Object.entries(command.options).map(([name, o]) => [
          name,
          {
            type: o.type,
            ...(o.short ? { short: o.short } : {}),
            ...(o.multiple ? { multiple: true } : {}),
            ...(o.default !== undefined ? { default: o.default } : {}),
          },
        ]),
      ),
    },
    allowPositionals: false,
    strict: true,
  };
  let values: Record<string, string | boolean | string[] | undefined>;
  try {
    values = parseArgs(config).values as typeof values;
  } catch (err) {
    io.err(
      `${program} ${command.path.join(' ')}: ${(err as Error).message}\nRun \`${program} ${command.path.join(' ')} --help\` for options.`,
    );
    return 2;
  }
  if (values['help']) {
    io.out(commandHelp(program, command));
    return 0;
  }
  try {
    return await command.run(values, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(
        `${program} ${command.path.join(' ')}: ${err.message}\nRun \`${program} ${command.path.join(' ')} --help\` for options.`,
      );
      return 2;
    }
    throw err;
  }
}

/** Reads a positive integer option or throws a UsageError naming it. */
export function intOption(values: Record<string, unknown>, name: string, min = 0): number {
  const raw = values[name];
  const n = Number(raw);
  if (typeof raw !== 'string' || !Number.isInteger(n) || n < min)
    throw new UsageError(`--${name} must be an integer ≥ ${min} (got ${JSON.stringify(raw)})`);
  return n;
}
