import type { FlowRecord, RecordFailure } from '@junction/flow';

export interface IndexedRecord {
  /** Position in the step's input page. */
  index: number;
  record: FlowRecord;
}

export interface IsolateOptions {
  /** Writes these records in one statement. */
  write(rows: readonly FlowRecord[]): Promise<void>;
  /** Whether the error is caused by the data of some row (so splitting the batch can find it). */
  isRowError(error: unknown): boolean;
  describe(error: unknown): string;
}

/**
 * Finds the bad rows of a batch whose one-statement write failed with `error` (a row error):
 * halves it until every bad row stands alone, writing the good halves on the way. k bad rows in
 * n cost about 2·k·log2(n) statements instead of n. Any other error stops it and is thrown.
 */
export async function isolateFailures(
  batch: readonly IndexedRecord[],
  error: unknown,
  options: IsolateOptions,
): Promise<RecordFailure[]> {
  const failures: RecordFailure[] = [];
  const fail = (row: IndexedRecord, e: unknown) =>
    failures.push({ index: row.index, message: options.describe(e), retryable: false });

  const split = async (rows: readonly IndexedRecord[]): Promise<void> => {
    const mid = rows.length >>> 1;
    await attempt(rows.slice(0, mid));
    await attempt(rows.slice(mid));
  };
  const attempt = async (rows: readonly IndexedRecord[]): Promise<void> => {
    try {
      await options.write(rows.map((r) => r.record));
    } catch (e) {
      if (!options.isRowError(e)) throw e;
      if (rows.length === 1) fail(rows[0], e);
      else await split(rows);
    }
  };

  if (batch.length === 1) fail(batch[0], error);
  else if (batch.length > 1) await split(batch);
  return failures;
}
