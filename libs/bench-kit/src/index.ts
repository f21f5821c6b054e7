// Public surface of @brix/bench-kit: what every benchmark in tools/ needs around its measurement — a validated
// command line, percentiles, the machine line, writing results between markers of a docs page, and a streamed
// completion timed by the client.
export { type BenchOptionSpec, type BenchOptionValues, benchUsage, BenchUsageError, parseBenchOptions } from './options';
export { fixed, machine, nearestRank, replaceBetween, writeSection } from './report';
export { type TimedStream, timedStream } from './stream';
