import { parseArgs } from 'node:util';

/** A benchmark's command-line option: a number (validated) or a string, with its default and help line. */
export type BenchOptionSpec =
  | { type: 'number'; default: number; min?: number; integer?: boolean; description: string }
  | { type: 'string'; default: string; description: string }
  | { type: 'boolean'; description: string };

export type BenchOptionValues<S extends Record<string, BenchOptionSpec>> = {
  [K in keyof S]: S[K] extends { type: 'number' } ? number : S[K] extends { type: 'string' } ? string : boolean;
};

/** A bad command line: the message names the option and what it accepts. */
export class BenchUsageError extends Error {
  override readonly name = 'BenchUsageError';
}

/**
 * Parses `--name value` options of a benchmark against its spec: unknown options, missing values and
 * numbers that are not numbers (or below `min`, or not integers where required) are refused with a
 * {@link BenchUsageError} naming the option, instead of running a benchmark on NaN.
 */
export function parseBenchOptions<S extends Record<string, BenchOptionSpec>>(
  args: readonly string[],
  spec: S,
): BenchOptionValues<S> {
  const options = Object.fromEntries(
    Object.entries(spec).map(([name, s]) => [name, { type: s.type === 'boolean' ? ('boolean' as const) : ('string' as const) }]),
  );
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: [...args], options, strict: true, allowPositionals: false }));
  } catch (err) {
    throw new BenchUsageError(`${(err as Error).message}\n${benchUsage(spec)}`);
  }
  const out: Record<string, string | number | boolean> = {};
  for (const [name, s] of Object.entries(spec)) {
    const raw = values[name];
    if (s.type === 'boolean') {
      out[name] = raw === true;
    } else if (s.type === 'string') {
      out[name] = typeof raw === 'string' ? raw : s.default;
    } else if (typeof raw !== 'string') {
      out[name] = s.default;
    } else {
      const n = raw.trim() === '' ? Number.NaN : Number(raw);
      const wants = `${s.integer ? 'an integer' : 'a number'}${s.min !== undefined ? ` ≥ ${s.min}` : ''}`;
      if (!Number.isFinite(n) || (s.integer && !Number.isInteger(n)) || (s.min !== undefined && n < s.min)) {
        throw new BenchUsageError(`--${name} must be ${wants}, got '${raw}'`);
      }
      out[name] = n;
    }
  }
  return out as BenchOptionValues<S>;
}

/** One line per option, for the error message of a bad command line. */
export function benchUsage(spec: Record<string, BenchOptionSpec>): string {
  return Object.entries(spec)
    .map(([name, s]) => {
      const value = s.type === 'boolean' ? '' : ` <${s.type}>`;
      const fallback = s.type === 'boolean' ? '' : ` (default ${s.default})`;
      return `  --${name}${value}  ${s.description}${fallback}`;
    })
    .join('\n');
}
