// Durations in milliseconds for reports. process.hrtime rather than performance.now(): Node loads
// the global `performance` (perf_hooks and nine modules behind it) on first use, 0.8 ms of every
// start, for a few subtractions.

/** A monotonic time in milliseconds, for differences only. */
export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
