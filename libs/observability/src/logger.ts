import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

/**
 * Fields never written to logs. API keys, admin tokens and credentials can reach a log line through
 * request headers or through objects logged for context; pino replaces them with "[redacted]".
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  'headers.authorization',
  'authorization',
  'apiKey',
  'api_key',
  'token',
  'password',
  'secret',
  'credentials',
  '*.apiKey',
  '*.api_key',
  '*.token',
  '*.password',
  '*.secret',
  '*.credentials',
  '*.authorization',
];

export interface LoggerConfig {
  service: string;
  /** pino level: fatal, error, warn, info, debug, trace, silent. */
  level?: string;
  /** Extra fields on every line (instance id, model). */
  base?: Record<string, unknown>;
  /** Where lines go; stdout by default. Tests pass a stream to read what was logged. */
  destination?: DestinationStream;
}

/**
 * The Brix logging convention: one JSON object per line on stdout, `service` on every line, epoch-ms
 * `time`, level as a label, secrets redacted. Pretty-printing is left to the reader (`pino-pretty`).
 */
export function createLogger(config: LoggerConfig): Logger {
  const options: LoggerOptions = {
    level: config.level ?? 'info',
    base: { service: config.service, ...config.base },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    formatters: { level: (label) => ({ level: label }) },
  };
  return config.destination ? pino(options, config.destination) : pino(options);
}
