import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Row } from './results';

interface BarValue {
  workload: string;
  strategy: string;
  metric: string;
  value: number;
}

/**
 * A Vega-Lite spec: grouped bars of a metric per strategy, one panel per workload. `log` for latencies that span orders of magnitude (each panel its own axis); linear with one
 * shared axis otherwise, so bars compare across panels.
 */
function barsSpec(title: string, values: readonly BarValue[], unit: string, scale: 'log' | 'linear') {
  // A bar on a log axis has no zero to start from: every bar starts at the power of ten below the smallest value.
  const floor = 10 ** Math.floor(Math.log10(Math.max(1e-3, Math.min(...values.map((v) => v.value).filter((v) => v > 0)))));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title,
    data: { values },
    facet: { column: { field: 'workload', type: 'nominal', title: null } },
    spec: {
      width: 220,
      height: 200,
      mark: 'bar',
      encoding: {
        x: { field: 'strategy', type: 'nominal', title: null, axis: { labelAngle: -40, labelLimit: 200 } },
        xOffset: { field: 'metric' },
        y: {
          field: 'value',
          type: 'quantitative',
          title: unit,
          scale: scale === 'log' ? { type: 'log', domainMin: floor } : { type: 'linear', domainMin: 0 },
        },
        ...(scale === 'log' ? { y2: { datum: floor } } : {}),
        color: { field: 'metric', type: 'nominal', title: null, legend: { labelLimit: 260 } },
        tooltip: [{ field: 'strategy' }, { field: 'metric' }, { field: 'value', format: '.1f' }],
      },
    },
    resolve: { scale: { y: scale === 'log' ? 'independent' : 'shared' } },
    config: { font: 'DejaVu Sans' },
  };
}

const barValues = (rows: readonly Row[], metrics: Array<{ name: string; value: (r: Row) => number }>): BarValue[] =>
  rows.flatMap((r) => metrics.map((m) => ({ workload: r.workload, strategy: r.strategy, metric: m.name, value: m.value(r) })));

/** Renders a Vega-Lite spec to SVG (vega's headless renderer) and PNG (resvg), offline. */
async function render(spec: object): Promise<{ svg: string; png: Buffer }> {
  const vl = await import('vega-lite');
  const vega = await import('vega');
  const { Resvg } = await import('@resvg/resvg-js');
  const compiled = vl.compile(spec as never).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  const png = new Resvg(svg, { background: 'white', fitTo: { mode: 'zoom', value: 1.5 }, font: { loadSystemFonts: true } })
    .render()
    .asPng();
  return { svg, png };
}

/** Writes the plots of a run into `dir` as <name>.svg / .png / .vl.json; returns the base names. */
export async function writePlots(dir: string, prefix: string, rows: readonly Row[]): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const plots: Array<[string, object]> = [
    [
      `${prefix}-ttft`,
      barsSpec(
        `TTFT by strategy (${prefix}; log scale)`,
        barValues(rows, [
          { name: 'p50', value: (r) => r.ttftMs.p50 },
          { name: 'p99', value: (r) => r.ttftMs.p99 },
        ]),
        'ms',
        'log',
      ),
    ],
    [
      `${prefix}-hit-spread`,
      barsSpec(
        `Prefix-cache hit rate and load spread (${prefix})`,
        barValues(rows, [
          { name: 'prefix hit rate (%)', value: (r) => r.prefixHitRate * 100 },
          { name: 'CV of requests per engine (%)', value: (r) => r.loadCv * 100 },
        ]),
        '%',
        'linear',
      ),
    ],
  ];
  for (const [name, spec] of plots) {
    const { svg, png } = await render(spec);
    writeFileSync(join(dir, `${name}.svg`), svg);
    writeFileSync(join(dir, `${name}.png`), png);
    writeFileSync(join(dir, `${name}.vl.json`), JSON.stringify(spec, null, 2) + '\n');
  }
  return plots.map(([name]) => name);
}
