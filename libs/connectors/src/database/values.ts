import type { SqlDialect } from './sql-template.ts';

/**
 * A record value as a driver bind value. `undefined` (a missing field) is NULL; objects and
 * arrays go to MySQL as JSON text (PostgreSQL's driver already sends objects as JSON and arrays
 * as arrays); bigints as decimal text so no precision is lost.
 */
export function toBindValue(value: unknown, dialect: SqlDialect): unknown {
  if (value === undefined) return null;
  if (typeof value === 'bigint') return value.toString();
  if (dialect === 'mysql' && typeof value === 'object' && value !== null) {
    if (value instanceof Date || Buffer.isBuffer(value)) return value;
    return JSON.stringify(value);
  }
  return value;
}

/**
 * The batch as JSON for PostgreSQL's json_populate_recordset: bytea as `\\x..` hex, bigints as
 * text. Converted while picking the columns, because a JSON.stringify replacer would slow the
 * hot path of every write several times over.
 */
export function jsonForPostgres(
  rows: readonly Record<string, unknown>[],
  columns: readonly string[],
): string {
  const picked = new Array<Record<string, unknown>>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    const o: Record<string, unknown> = {};
    for (const c of columns) {
      const v = r[c];
      o[c] = typeof v === 'bigint' ? v.toString() : Buffer.isBuffer(v) ? `\\x${v.toString('hex')}` : v;
    }
    picked[i] = o;
  }
  return JSON.stringify(picked);
}
