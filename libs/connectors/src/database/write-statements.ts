import { ConfigError, type FlowRecord } from '@junction/flow';
import type { SqlDialect } from './sql-template.ts';
import { jsonForPostgres, toBindValue } from './values.ts';

export type WriteMode = 'insert' | 'upsert' | 'update';

export interface WritePlan {
  dialect: SqlDialect;
  table: string;
  mode: WriteMode;
  columns: readonly string[];
  keys: readonly string[];
}

export interface BoundStatement {
  text: string;
  values: unknown[];
}

/** MySQL's limit of placeholders in one prepared statement. */
const MYSQL_MAX_PLACEHOLDERS = 65_535;

/** Rows per statement: the asked batch size, within what one statement can carry. */
export function rowsPerStatement(plan: WritePlan, batchSize: number): number {
  if (plan.dialect === 'postgres') return batchSize; // one JSON parameter whatever the size
  return Math.max(1, Math.min(batchSize, Math.floor(MYSQL_MAX_PLACEHOLDERS / plan.columns.length)));
}

export function quoteIdent(name: string, dialect: SqlDialect): string {
  if (name.length === 0 || name.includes('\u0000'))
    throw new ConfigError(`invalid identifier ${JSON.stringify(name)}`);
  return dialect === 'postgres' ? `"${name.replaceAll('"', '""')}"` : `\`${name.replaceAll('`', '``')}\``;
}

/** `schema.table` (or `table`), each part quoted: the name is never SQL text. */
export function quoteTable(table: string, dialect: SqlDialect): string {
  const parts = table.split('.');
  if (parts.length > 2 || parts.some((p) => p.length === 0))
    throw new ConfigError(`table: expected "table" or "schema.table", got ${JSON.stringify(table)}`);
  return parts.map((p) => quoteIdent(p, dialect)).join('.');
}

/** One multi-row statement writing `rows` (one round trip), by the plan's mode and dialect. */
export function writeStatement(plan: WritePlan, rows: readonly FlowRecord[]): BoundStatement {
  return plan.dialect === 'postgres' ? postgresStatement(plan, rows) : mysqlStatement(plan, rows);
}

/**
 * PostgreSQL gets the whole batch as one JSON parameter, typed by the table's own row type with
 * json_populate_recordset: one bind value however many rows, and no type guessing here.
 */
function postgresStatement(plan: WritePlan, rows: readonly FlowRecord[]): BoundStatement {
  const q = (n: string) => quoteIdent(n, 'postgres');
  const table = quoteTable(plan.table, 'postgres');
  const cols = plan.columns.map(q);
  const source = `json_populate_recordset(NULL::${table}, $1::json)`;
  const values = [jsonForPostgres(rows, plan.columns)];
  const rest = plan.columns.filter((c) => !plan.keys.includes(c)).map(q);

  if (plan.mode === 'update') {
    const set = rest.map((c) => `${c} = _src.${c}`).join(', ');
    const where = plan.keys.map((k) => `_dst.${q(k)} = _src.${q(k)}`).join(' AND ');
    return { text: `UPDATE ${table} AS _dst SET ${set} FROM ${source} AS _src WHERE ${where}`, values };
  }
  let text = `INSERT INTO ${table} (${cols.join(', ')}) SELECT ${cols.join(', ')} FROM ${source}`;
  if (plan.mode === 'upsert') {
    const conflict = `ON CONFLICT (${plan.keys.map(q).join(', ')})`;
    text +=
      rest.length === 0
        ? ` ${conflict} DO NOTHING`
        : ` ${conflict} DO UPDATE SET ${rest.map((c) => `${c} = EXCLUDED.${c}`).join(', ')}`;
  }
  return { text, values };
}

function mysqlStatement(plan: WritePlan, rows: readonly FlowRecord[]): BoundStatement {
  const q = (n: string) => quoteIdent(n, 'mysql');
  const table = quoteTable(plan.table, 'mysql');
  const values: unknown[] = [];
  for (const r of rows) for (const c of plan.columns) values.push(toBindValue(r[c], 'mysql'));
  const tuple = `(${plan.columns.map(() => '?').join(', ')})`;
  const rest = plan.columns.filter((c) => !plan.keys.includes(c)).map(q);

  if (plan.mode === 'update') {
    // A derived table of the batch joined to the target: one statement for all rows.
    const first = `SELECT ${plan.columns.map((c) => `? AS ${q(c)}`).join(', ')}`;
    const more = ` UNION ALL SELECT ${plan.columns.map(() => '?').join(', ')}`;
    const derived = first + more.repeat(rows.length - 1);
    const on = plan.keys.map((k) => `_dst.${q(k)} = _src.${q(k)}`).join(' AND ');
    const set = rest.map((c) => `_dst.${c} = _src.${c}`).join(', ');
    return { text: `UPDATE ${table} AS _dst JOIN (${derived}) AS _src ON ${on} SET ${set}`, values };
  }
  let text = `INSERT INTO ${table} (${plan.columns.map(q).join(', ')}) VALUES ${Array(rows.length).fill(tuple).join(', ')}`;
  if (plan.mode === 'upsert') {
    // MySQL picks the conflicting unique key itself; VALUES() works on MySQL and MariaDB alike.
    const key = q(plan.keys[0]);
    text += ` ON DUPLICATE KEY UPDATE ${rest.length === 0 ? `${key} = ${key}` : rest.map((c) => `${c} = VALUES(${c})`).join(', ')}`;
  }
  return { text, values };
}
