// A fixed number of workers over a list: at most `jobs` calls in flight, results in input order
// whatever order they finish in, so reports read the same for --jobs 1 and --jobs 8.

/** The default of --jobs: enough to overlap network waits, few enough for a busy server's connection slots. */
export const DEFAULT_JOBS = 4;

export async function mapInPool<T, R>(items: readonly T[], jobs: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    // Single-threaded: taking `next` and incrementing it cannot interleave with another worker.
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(jobs, items.length)) }, worker));
  return results;
}
