import { describe, expect, it } from 'vitest';
import type { FlowRecord } from '@junction/flow';
import { isolateFailures } from '../../src/database/isolate-failures.ts';

class RowError extends Error {}

/** A table that refuses any statement holding a row marked bad, and keeps the rest. */
function table(badIds: Set<number>) {
  const written: number[] = [];
  let statements = 0;
  return {
    written,
    statements: () => statements,
    write: async (rows: readonly FlowRecord[]) => {
      statements++;
      const bad = rows.find((r) => badIds.has(r.id as number));
      if (bad) throw new RowError(`row ${String(bad.id)} is bad`);
      written.push(...rows.map((r) => r.id as number));
    },
  };
}

const batchOf = (n: number) => Array.from({ length: n }, (_, i) => ({ index: i, record: { id: i } }));
const options = (t: ReturnType<typeof table>) => ({
  write: t.write,
  isRowError: (e: unknown) => e instanceof RowError,
  describe: (e: unknown) => (e as Error).message,
});

describe('isolateFailures', () => {
  it('writes every good row and reports each bad one with its own message, in far fewer statements than rows', async () => {
    const bad = new Set([0, 17, 250, 499, 500, 777, 999]);
    const t = table(bad);
    const failures = await isolateFailures(batchOf(1000), new RowError('batch failed'), options(t));
    expect(failures.map((f) => f.index)).toEqual([...bad]);
    expect(failures[1]).toEqual({ index: 17, message: 'row 17 is bad', retryable: false });
    expect(t.written.sort((a, b) => a - b)).toEqual(
      batchOf(1000)
        .map((r) => r.index)
        .filter((i) => !bad.has(i)),
    );
    expect(t.statements()).toBeLessThan(200);
  });

  it('reports a one-row batch with the error it already failed with', async () => {
    const t = table(new Set([0]));
    const failures = await isolateFailures(batchOf(1), new RowError('duplicate key'), options(t));
    expect(failures).toEqual([{ index: 0, message: 'duplicate key', retryable: false }]);
    expect(t.statements()).toBe(0);
  });

  it('stops at an error that is not about a row', async () => {
    const write = async () => {
      throw new Error('connection lost');
    };
    await expect(
      isolateFailures(batchOf(10), new RowError('x'), { ...options(table(new Set())), write }),
    ).rejects.toThrow('connection lost');
  });
});
