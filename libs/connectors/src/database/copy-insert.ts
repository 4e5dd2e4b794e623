import { errorMessage, isRetryable, type FlowRecord, type OperationContext } from '@junction/flow';
import { encodeCopyText } from './copy-text.ts';
import type { DatabaseDriver } from './driver.ts';
import { isRowError } from './driver-errors.ts';
import { quoteIdent, quoteTable, type WritePlan } from './write-statements.ts';

/**
 * Whether the target takes COPY exactly as it takes INSERT: a plain or partitioned table, no
 * INSERT rule (COPY does not fire rules), no row-level security (COPY FROM refuses it), and no
 * written column that is GENERATED ALWAYS AS IDENTITY (COPY would fill it where INSERT refuses).
 */
const COPY_TARGET_SQL = `SELECT c.relkind IN ('r', 'p')
    AND NOT c.relrowsecurity
    AND NOT EXISTS (SELECT 1 FROM pg_rewrite r WHERE r.ev_class = c.oid AND r.ev_type = '3')
    AND NOT EXISTS (SELECT 1 FROM pg_attribute a
                    WHERE a.attrelid = c.oid AND a.attname = ANY($2::text[]) AND a.attidentity = 'a') AS ok
  FROM pg_class c WHERE c.oid = to_regclass($1)`;

/** Per step execution: the targets found suitable (or not) for COPY. */
const decisions = new WeakMap<object, Map<string, Promise<boolean>>>();

function stepDecisions(ctx: OperationContext): Map<string, Promise<boolean>> {
  // Every copy of a step's context shares its compile function: it identifies the execution.
  let byTarget = decisions.get(ctx.compile);
  if (!byTarget) decisions.set(ctx.compile, (byTarget = new Map<string, Promise<boolean>>()));
  return byTarget;
}

function targetKey(plan: WritePlan): string {
  return `${plan.table}\u0000${plan.columns.join('\u0000')}`;
}

function copyAllowed(ctx: OperationContext, driver: DatabaseDriver, plan: WritePlan): Promise<boolean> {
  const byTarget = stepDecisions(ctx);
  const key = targetKey(plan);
  let allowed = byTarget.get(key);
  if (!allowed) {
    allowed = driver
      .run(COPY_TARGET_SQL, [quoteTable(plan.table, 'postgres'), plan.columns], ctx.signal)
      .then((r) => r.rows[0]?.ok === true);
    byTarget.set(key, allowed);
    // a failed check (cancelled, connection lost) is not a decision: ask again next time
    allowed.catch(() => byTarget.delete(key));
  }
  return allowed;
}

/** COPY will not be tried again for this target in this step execution. */
export function stopCopying(ctx: OperationContext, plan: WritePlan, why: string): void {
  ctx.log.debug(`writing to ${plan.table} with INSERT statements from now on: ${why}`);
  stepDecisions(ctx).set(targetKey(plan), Promise.resolve(false));
}

/**
 * The fast path of `mode: insert` on PostgreSQL: the batch as one COPY ... FROM STDIN.
 * Returns 'copied' when every row was written; otherwise nothing was written and the caller
 * writes the batch with statements: 'skipped' (COPY does not apply), 'row-error' (COPY refused
 * some row: the statements find which, or show that COPY cannot take this data). Errors that
 * would stop the statement path as well (cancellation, connection trouble) are thrown.
 */
export async function copyBatch(
  ctx: OperationContext,
  driver: DatabaseDriver,
  plan: WritePlan,
  rows: readonly FlowRecord[],
): Promise<'copied' | 'skipped' | 'row-error'> {
  if (plan.mode !== 'insert' || !driver.copyFrom || plan.dialect !== 'postgres') return 'skipped';
  if (!(await copyAllowed(ctx, driver, plan))) return 'skipped';
  const data = encodeCopyText(rows, plan.columns);
  if (!data) return 'skipped';
  const columns = plan.columns.map((c) => quoteIdent(c, 'postgres')).join(', ');
  const text = `COPY ${quoteTable(plan.table, 'postgres')} (${columns}) FROM STDIN`;
  try {
    await driver.copyFrom(text, data.chunks, ctx.signal);
    data.release();
    return 'copied';
  } catch (e) {
    if (ctx.signal.aborted || isRetryable(e)) throw e;
    if (isRowError(e, 'postgres')) return 'row-error';
    // Something COPY refuses that INSERT may take (the statement shows which); no more COPY here.
    stopCopying(ctx, plan, `COPY failed: ${errorMessage(e)}`);
    return 'skipped';
  }
}
