import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fixed, machine, replaceBetween } from '@brix/bench-kit';
import { type Row } from './results';

export { fixed, machine };

/** The table of a run: one line per workload × strategy. */
export function rowsTable(rows: readonly Row[]): string {
  const lines = [
    '| workload | strategy | requests | TTFT mean | TTFT p50 | TTFT p99 | ITL mean | e2e mean | e2e p99 | req/s | output tok/s | prefix hit | CV req/engine | errors |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.workload} | \`${r.strategy}\` | ${r.requests} | ${fixed(r.ttftMs.mean)} | ${fixed(r.ttftMs.p50)} | ${fixed(r.ttftMs.p99)} | ` +
        `${fixed(r.itlMs.mean)} | ${fixed(r.e2eMs.mean, 0)} | ${fixed(r.e2eMs.p99, 0)} | ${fixed(r.requestsPerSec, 2)} | ${fixed(r.outputTokensPerSec, 0)} | ` +
        `${fixed(r.prefixHitRate * 100)}% | ${fixed(r.loadCv, 3)} | ${r.errors} |`,
    );
  }
  return lines.join('\n');
}

/** Ratios that answer the targets: per workload, each strategy's TTFT against least-request's. */
export function ratiosTable(rows: readonly Row[], baseline = 'least-request'): string {
  const lines = [
    `| workload | strategy | TTFT mean vs \`${baseline}\` | TTFT p99 vs \`${baseline}\` | e2e mean vs \`${baseline}\` | ${baseline} p99 ÷ strategy p99 |`,
    '|---|---|---:|---:|---:|---:|',
  ];
  const pct = (a: number, b: number) => `${a >= b ? '+' : ''}${fixed(((a - b) / b) * 100)}%`;
  for (const r of rows) {
    const base = rows.find((b) => b.workload === r.workload && b.strategy === baseline && b.mode === r.mode);
    if (!base || r === base) continue;
    lines.push(
      `| ${r.workload} | \`${r.strategy}\` | ${pct(r.ttftMs.mean, base.ttftMs.mean)} | ${pct(r.ttftMs.p99, base.ttftMs.p99)} | ` +
        `${pct(r.e2eMs.mean, base.e2eMs.mean)} | ${fixed(base.ttftMs.p99 / r.ttftMs.p99, 2)}× |`,
    );
  }
  return lines.join('\n');
}

/** Replaces the text between two marker lines of a file (the markers stay); appends both when absent. */
export function writeSection(path: string, name: string, body: string): void {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const doc = existsSync(path) ? readFileSync(path, 'utf8') : '';
  const next = doc.includes(start)
    ? replaceBetween(doc, start, end, body)
    : `${doc}${doc.endsWith('\n') || doc === '' ? '' : '\n'}\n${start}\n${body}\n${end}\n`;
  writeFileSync(path, next);
}
