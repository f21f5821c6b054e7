import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';

/** The p-th percentile (0–100) of ascending `sorted` values by nearest rank; NaN when empty. */
export function nearestRank(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

/** The machine a figure was measured on, for the line above a results table. */
export function machine(): string {
  const c = cpus();
  const load = loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
  return `${c[0]?.model.trim() ?? 'unknown CPU'}, ${c.length} cores, Node ${process.version}, load average ${load}`;
}

/** Replaces the text between two marker lines of a document; the markers stay, and a missing marker is an error. */
export function replaceBetween(doc: string, start: string, end: string, body: string): string {
  const a = doc.indexOf(start);
  const b = doc.indexOf(end, a < 0 ? 0 : a + start.length);
  if (a < 0 || b < 0) throw new Error(`markers ${start} … ${end} not found`);
  return doc.slice(0, a + start.length) + '\n' + body + '\n' + doc.slice(b);
}

/** {@link replaceBetween} on a file, in place. */
export function writeSection(path: string, start: string, end: string, body: string): void {
  writeFileSync(path, replaceBetween(readFileSync(path, 'utf8'), start, end, body));
}

/** A number with fixed digits, or its own text when not finite (NaN stays visible in a table). */
export const fixed = (v: number, digits = 1): string => (Number.isFinite(v) ? v.toFixed(digits) : String(v));
