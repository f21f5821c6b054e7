/**
 * Kubernetes label selectors in their query-string form (`app=web,tier!=db,env in (a,b),!canary`), the
 * form `?labelSelector=` carries. Parsed into requirements that must all hold (logical AND).
 *
 * Semantics follow the API server: `!=` and `notin` also match objects that lack the key; `key` alone
 * means "has the key", `!key` "lacks it". The numeric `gt`/`lt` operators are not supported.
 */
export type LabelRequirement =
  | { readonly key: string; readonly op: 'exists' | 'not-exists' }
  | { readonly key: string; readonly op: 'in' | 'notin'; readonly values: readonly string[] };

/** A selector string that does not parse; the fake API server answers 400 with this message. */
export class LabelSelectorError extends Error {
  override readonly name = 'LabelSelectorError';
}

const KEY = String.raw`[A-Za-z0-9][-A-Za-z0-9_./]*`;
const VALUE = String.raw`[-A-Za-z0-9_.]*`;
const EXISTS = new RegExp(`^(!?)\\s*(${KEY})$`);
const EQUALITY = new RegExp(`^(${KEY})\\s*(==|=|!=)\\s*(${VALUE})$`);
const SET = new RegExp(`^(${KEY})\\s+(in|notin)\\s*\\(([^()]*)\\)$`);

/** Splits on commas that are not inside a parenthesised value set. */
function terms(selector: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < selector.length; i++) {
    const c = selector[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      out.push(selector.slice(start, i));
      start = i + 1;
    }
    if (depth < 0 || depth > 1) throw new LabelSelectorError(`unbalanced parentheses in label selector "${selector}"`);
  }
  if (depth !== 0) throw new LabelSelectorError(`unbalanced parentheses in label selector "${selector}"`);
  out.push(selector.slice(start));
  return out.map((t) => t.trim());
}

export function parseLabelSelector(selector: string | undefined): LabelRequirement[] {
  if (selector === undefined || selector.trim() === '') return [];
  return terms(selector).map((term): LabelRequirement => {
    let m = SET.exec(term);
    if (m) {
      const values = m[3]
        .split(',')
        .map((v) => v.trim())
        .filter((v) => v !== '');
      if (values.length === 0) throw new LabelSelectorError(`empty value set in "${term}"`);
      return { key: m[1], op: m[2] as 'in' | 'notin', values };
    }
    m = EQUALITY.exec(term);
    if (m) return { key: m[1], op: m[2] === '!=' ? 'notin' : 'in', values: [m[3]] };
    m = EXISTS.exec(term);
    if (m) return { key: m[2], op: m[1] === '!' ? 'not-exists' : 'exists' };
    throw new LabelSelectorError(`unable to parse requirement "${term}" of label selector "${selector}"`);
  });
}

export function matchesLabels(requirements: readonly LabelRequirement[], labels: Readonly<Record<string, string>> = {}): boolean {
  return requirements.every((r) => {
    const has = Object.prototype.hasOwnProperty.call(labels, r.key);
    switch (r.op) {
      case 'exists':
        return has;
      case 'not-exists':
        return !has;
      case 'in':
        return has && r.values.includes(labels[r.key]);
      case 'notin':
        return !has || !r.values.includes(labels[r.key]);
    }
  });
}

/** The structured selector of a workload (`spec.selector`), as Deployments and StatefulSets carry it. */
export interface StructuredLabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }[];
}

/** Renders a structured selector in query-string form, as the `/scale` subresource reports it in `status.selector`. */
export function formatLabelSelector(selector: StructuredLabelSelector | undefined): string {
  if (!selector) return '';
  const parts = Object.entries(selector.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of selector.matchExpressions ?? []) {
    const values = [...(e.values ?? [])].sort().join(',');
    if (e.operator === 'In') parts.push(`${e.key} in (${values})`);
    else if (e.operator === 'NotIn') parts.push(`${e.key} notin (${values})`);
    else if (e.operator === 'Exists') parts.push(e.key);
    else parts.push(`!${e.key}`);
  }
  return parts.join(',');
}
