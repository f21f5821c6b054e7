/**
 * NATS subjects are dot-separated tokens; a token may not contain `.`, `*`, `>` or whitespace.
 * Model and pod names do (`meta-llama/Llama-3.1-8B`), so every name placed in a subject goes through
 * {@link subjectToken}: a reversible percent-encoding of exactly the forbidden characters and `%`.
 * Payloads always carry the original names; the encoded token is only for routing messages.
 */
const FORBIDDEN = /[%.*>\s]/g;

export function subjectToken(name: string): string {
  if (name.length === 0) throw new RangeError('a subject token cannot be empty');
  return name.replace(FORBIDDEN, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0'));
}

export function fromSubjectToken(token: string): string {
  return token.replace(/%([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** True when `subject` is matched by the NATS pattern `pattern` (`*` = one token, `>` = one or more trailing tokens). */
export function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '>') return s.length > i;
    if (i >= s.length) return false;
    if (p[i] !== '*' && p[i] !== s[i]) return false;
  }
  return p.length === s.length;
}
