/**
 * Maps items with at most `limit` calls in flight, results in input order. When a call rejects,
 * no new call starts and the first rejection is thrown once the calls in flight have settled.
 */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  if (limit <= 1) {
    for (let i = 0; i < items.length; i++) results[i] = await fn(items[i], i);
    return results;
  }
  let next = 0;
  let failed: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (failed === undefined && next < items.length) {
      const i = next++;
      try {
        results[i] = await fn(items[i], i);
      } catch (error) {
        failed ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failed) throw failed.error as Error;
  return results;
}
