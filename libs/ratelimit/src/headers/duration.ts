/**
 * Formats a duration the way OpenAI's `x-ratelimit-reset-*` headers do (Go's time.Duration notation):
 * `0s`, `17ms`, `1.2s`, `6m0s`, `1h2m3.5s`. Sub-second values are whole milliseconds rounded up, so a
 * client that waits the stated time is never early; seconds keep up to three decimals.
 */
export function formatResetDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms <= 0) return '0s';
  const whole = Math.ceil(ms);
  if (whole < 1000) return `${whole}ms`;
  const hours = Math.floor(whole / 3_600_000);
  const minutes = Math.floor((whole % 3_600_000) / 60_000);
  const millis = whole % 60_000;
  const seconds = (millis / 1000).toFixed(3).replace(/\.?0+$/, '');
  if (hours > 0) return `${hours}h${minutes}m${seconds}s`;
  if (minutes > 0) return `${minutes}m${seconds}s`;
  return `${seconds}s`;
}
