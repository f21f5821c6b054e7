/** No registered engine table recognises the metric names of a scrape. */
export class UnknownEngineError extends Error {
  override readonly name = 'UnknownEngineError';
  readonly code = 'BRIX_UNKNOWN_ENGINE';
  constructor(
    readonly known: readonly string[],
    readonly requested?: string,
  ) {
    super(
      requested
        ? `no engine metric table "${requested}" (known: ${known.join(', ')})`
        : `the scrape matches no known engine (known: ${known.join(', ')}); set the engine kind explicitly or add a table`,
    );
  }
}

/** An engine table id registered twice on one registry. */
export class DuplicateEngineTableError extends Error {
  override readonly name = 'DuplicateEngineTableError';
  readonly code = 'BRIX_DUPLICATE_ENGINE_TABLE';
  constructor(readonly id: string) {
    super(`an engine metric table with id "${id}" is already registered`);
  }
}

/** A scrape lacks a metric a load snapshot cannot do without (running, waiting, KV usage). */
export class MissingMetricError extends Error {
  override readonly name = 'MissingMetricError';
  readonly code = 'BRIX_MISSING_METRIC';
  constructor(
    readonly engine: string,
    readonly missing: readonly string[],
  ) {
    super(`the ${engine} scrape lacks ${missing.join(', ')}; is this the engine's /metrics endpoint?`);
  }
}

/** Fetching an engine's metrics failed: unreachable, timed out, or answered with an error status. */
export class ScrapeError extends Error {
  override readonly name = 'ScrapeError';
  readonly code = 'BRIX_SCRAPE_FAILED';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
