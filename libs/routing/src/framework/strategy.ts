import { UnknownRoutingStrategyError } from './errors';

/** Longest strategy expression accepted; header values are client input. */
export const MAX_STRATEGY_LENGTH = 256;

export interface StrategyTerm {
  readonly profile: string;
  readonly weight: number;
}

/**
 * A strategy expression after parsing: one profile, or a weighted combination of profiles
 * (`prefix-cache:2,least-request:1`). `name` is the canonical spelling reported in decisions.
 */
export type ParsedStrategy =
  | { readonly kind: 'profile'; readonly name: string }
  | { readonly kind: 'combination'; readonly name: string; readonly terms: readonly StrategyTerm[] };

const WEIGHT = /^(\d+(\.\d*)?|\.\d+)$/;

/**
 * Parses a strategy expression: a profile name, or comma-separated `name[:weight]` items (weight ≥ 0,
 * default 1; weight 0 drops the item, as in AIBrix). Case and surrounding blanks are ignored.
 * Throws UnknownRoutingStrategyError (→ 400) naming the valid profiles for anything else.
 */
export function parseStrategy(expression: string, profiles: ReadonlySet<string>): ParsedStrategy {
  const valid = [...profiles].sort();
  const raw = expression.trim().toLowerCase();
  const shown = expression.length > 64 ? `${expression.slice(0, 61)}...` : expression;
  const fail = (detail?: string): never => {
    throw new UnknownRoutingStrategyError(shown, valid, detail);
  };
  if (raw.length === 0) fail('The routing strategy is empty.');
  if (raw.length > MAX_STRATEGY_LENGTH) fail(`The routing strategy is longer than ${MAX_STRATEGY_LENGTH} characters.`);
  if (profiles.has(raw)) return { kind: 'profile', name: raw };
  if (!raw.includes(':') && !raw.includes(',')) fail();

  const terms: StrategyTerm[] = [];
  const seen = new Set<string>();
  for (const item of raw.split(',')) {
    const [name = '', weightText, extra] = item.split(':').map((s) => s.trim());
    if (extra !== undefined) fail(`Malformed item \`${item.trim()}\` in routing strategy \`${shown}\`.`);
    if (!profiles.has(name)) fail(`Unknown routing strategy \`${name}\` in \`${shown}\`.`);
    if (seen.has(name)) fail(`Routing strategy \`${name}\` appears twice in \`${shown}\`.`);
    seen.add(name);
    let weight = 1;
    if (weightText !== undefined) {
      if (!WEIGHT.test(weightText)) fail(`Weight \`${weightText}\` of \`${name}\` is not a non-negative number.`);
      weight = Number(weightText);
    }
    if (weight > 0) terms.push({ profile: name, weight });
  }
  if (terms.length === 0) fail(`Every weight in \`${shown}\` is zero.`);
  if (terms.length === 1) return { kind: 'profile', name: terms[0]!.profile };
  return { kind: 'combination', name: terms.map((t) => `${t.profile}:${t.weight}`).join(','), terms };
}
