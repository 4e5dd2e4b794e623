import { z } from 'zod';
import {
  ConfigError,
  defineOperation,
  errorMessage,
  type OperationContext,
  type Page,
  type RecordFailure,
} from '@junction/flow';
import type { DatabaseConnection } from './connection.schema.ts';
import { copyBatch, stopCopying } from './copy-insert.ts';
import type { DatabaseDriver } from './driver.ts';
import { driverFor } from './driver-pool.ts';
import { isRowError } from './driver-errors.ts';
import { isolateFailures } from './isolate-failures.ts';
import { rowsPerStatement, writeStatement, type WritePlan } from './write-statements.ts';

const column = z.string().min(1);

export const WriteInput = z
  .strictObject({
    table: z.string().min(1).meta({ description: 'Table name, or schema.table' }),
    mode: z.enum(['insert', 'upsert', 'update']).default('insert'),
    keys: z
      .union([column.transform((k) => [k]), z.array(column).min(1)])
      .optional()
      .meta({ description: 'Key column(s): the conflict target of upsert, the match of update' }),
    columns: z
      .array(column)
      .min(1)
      .optional()
      .meta({ description: "Columns to write (default: the records' fields)" }),
    batchSize: z
      .number()
      .int()
      .min(1)
      .max(10_000)
      .default(1000)
      .meta({ description: 'Rows per statement (default 1000)' }),
  })
  .superRefine((input, ctx) => {
    if (input.mode !== 'insert' && input.keys === undefined)
      ctx.addIssue({ code: 'custom', path: ['keys'], message: `required when mode is "${input.mode}"` });
  });
export type WriteInput = z.output<typeof WriteInput>;

export const write = defineOperation<WriteInput, DatabaseConnection>({
  name: 'write',
  title: 'Write rows',
  description:
    'Inserts, upserts or updates each page of records in batches (COPY for inserts into PostgreSQL, multi-row statements otherwise); a bad row is reported alone, the others are written.',
  kind: 'destination',
  input: WriteInput,
  async execute(ctx, input, page) {
    if (page.length === 0) return { records: [] };
    const driver = await driverFor(ctx);
    const plan: WritePlan = {
      dialect: driver.dialect,
      table: input.table,
      mode: input.mode,
      columns: input.columns ?? fieldsOf(page),
      keys: input.keys ?? [],
    };
    checkPlan(plan);

    const size = rowsPerStatement(plan, input.batchSize);
    // A page of several batches commits batch by batch: when one throws (a lost connection, a
    // deadlock), the engine retries the page, which must not write the committed batches again.
    const written = writtenOf(ctx);
    const resumed = written.get(page);
    const errors: RecordFailure[] = resumed ? [...resumed.errors] : [];
    if (resumed)
      ctx.log.info(
        `retrying the page from row ${resumed.next}: the ${resumed.next} rows before were written`,
      );
    for (let start = resumed?.next ?? 0; start < page.length; start += size) {
      const rows = page.slice(start, start + size);
      errors.push(...(await writeBatch(ctx, driver, plan, rows, start)));
      written.set(page, { next: start + size, errors: [...errors] });
    }
    written.delete(page);
    if (errors.length === 0) return { records: page };
    const failed = new Set(errors.map((f) => f.index));
    return { records: page.filter((_, i) => !failed.has(i)), errors };
  },
});

/**
 * Per step execution (every copy of a step's context shares its compile function) and page: how
 * far a page that threw got, and the row errors found so far. The engine retries a page with
 * the same array, so a retry resumes after the batches already committed.
 */
const progress = new WeakMap<object, WeakMap<Page, { next: number; errors: RecordFailure[] }>>();

function writtenOf(ctx: OperationContext): WeakMap<Page, { next: number; errors: RecordFailure[] }> {
  let byPage = progress.get(ctx.compile);
  if (!byPage) progress.set(ctx.compile, (byPage = new WeakMap()));
  return byPage;
}

/** Writes one batch (committed on return); bad rows are isolated and returned, the rest written. */
async function writeBatch(
  ctx: OperationContext,
  driver: DatabaseDriver,
  plan: WritePlan,
  rows: Page,
  start: number,
): Promise<RecordFailure[]> {
  // the path that matters for speed: one COPY (PostgreSQL inserts) or one statement per batch
  const copied = await copyBatch(ctx, driver, plan, rows);
  if (copied === 'copied') return [];
  const statement = writeStatement(plan, rows);
  try {
    await driver.run(statement.text, statement.values, ctx.signal);
    if (copied === 'row-error') stopCopying(ctx, plan, 'COPY refused rows that INSERT took');
    return [];
  } catch (e) {
    if (!isRowError(e, driver.dialect)) throw e;
    // Some row is bad. Find it in one transaction: a single commit, and a failure of any
    // other kind on the way leaves nothing of this batch half-written.
    const batch = rows.map((record, i) => ({ index: start + i, record }));
    return driver.transaction(ctx.signal, (tx) =>
      isolateFailures(batch, e, {
        write: (part) => {
          const s = writeStatement(plan, part);
          return tx.attempt(s.text, s.values);
        },
        isRowError: (err) => isRowError(err, driver.dialect),
        describe: errorMessage,
      }),
    );
  }
}

/** Every field seen in the page, in first-seen order: a record without one writes NULL there. */
function fieldsOf(page: Page): string[] {
  const seen = new Set<string>();
  // for-in rather than Object.keys: no array per record (records are plain objects)
  for (const r of page) for (const k in r) if (Object.hasOwn(r, k)) seen.add(k);
  return [...seen];
}

function checkPlan(plan: WritePlan): void {
  if (plan.columns.length === 0)
    throw new ConfigError('columns: the records have no fields, so there is nothing to write');
  const missing = plan.keys.filter((k) => !plan.columns.includes(k));
  if (missing.length > 0)
    throw new ConfigError(
      `keys: ${missing.map((k) => `"${k}"`).join(', ')} must be among the columns written (${plan.columns.join(', ')})`,
    );
  if (plan.mode === 'update' && plan.columns.length === plan.keys.length)
    throw new ConfigError('columns: update needs at least one column besides the keys');
}
