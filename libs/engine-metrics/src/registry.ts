import { DuplicateEngineTableError, UnknownEngineError } from './errors';
import { type ParsedMetrics } from './prometheus/parse';
import { type EngineMetricTable } from './table';

/**
 * The engine tables one caller knows. An explicit instance (never a global), so tests and services
 * can add tables without affecting each other; `createEngineTableRegistry()` in engines/ returns one
 * holding every built-in table.
 */
export class EngineTableRegistry {
  private readonly tables = new Map<string, EngineMetricTable>();

  register(table: EngineMetricTable): this {
    if (this.tables.has(table.id)) throw new DuplicateEngineTableError(table.id);
    this.tables.set(table.id, table);
    return this;
  }

  ids(): string[] {
    return [...this.tables.keys()];
  }

  /** The table with this id; throws {@link UnknownEngineError} when none is registered. */
  get(id: string): EngineMetricTable {
    const table = this.tables.get(id);
    if (!table) throw new UnknownEngineError(this.ids(), id);
    return table;
  }

  /**
   * The table whose prefixes name the most metrics of the scrape, or undefined when none matches.
   * Counting (rather than taking the first hit) keeps a scrape with a stray foreign metric attributed
   * to the engine that produced most of it.
   */
  detect(parsed: ParsedMetrics): EngineMetricTable | undefined {
    const names = [...parsed.samples.keys(), ...parsed.histograms.keys()];
    let best: EngineMetricTable | undefined;
    let bestHits = 0;
    for (const table of this.tables.values()) {
      const hits = names.filter((n) => table.prefixes.some((p) => n.startsWith(p))).length;
      if (hits > bestHits) {
        best = table;
        bestHits = hits;
      }
    }
    return best;
  }
}
