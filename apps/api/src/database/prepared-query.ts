import type { Pool, PoolClient, QueryResultRow } from 'pg';
import { DataSource, type EntityManager } from 'typeorm';

/**
 * Runs a hot statement as a named prepared statement, on the data source's pool or on the
 * connection of a transaction (its EntityManager). TypeORM sends every query unnamed, so
 * PostgreSQL plans it on every call: about 0.7 ms for the batched job insert, which is as much as
 * inserting twenty of its rows. Named, each connection parses it once and, after a few runs,
 * reuses a generic plan. Only for statements whose plan does not depend on their parameters'
 * values (one JSON parameter read with json_to_recordset, say): a generic plan is chosen without
 * them. `name` must be unique to `text`.
 */
export async function preparedQuery<R extends QueryResultRow>(
  on: DataSource | EntityManager,
  name: string,
  text: string,
  values: unknown[],
): Promise<R[]> {
  const db = on instanceof DataSource ? on : on.connection;
  const query = unprepared.has(db) ? { text, values } : { name, text, values };
  const result = await clientOf(db, on instanceof DataSource ? undefined : on).query<R>(query);
  return result.rows;
}

/** Data sources whose statements are all sent unnamed (DATABASE_PREPARED_STATEMENTS=false). */
const unprepared = new WeakSet<DataSource>();

export function usePreparedStatements(db: DataSource, enabled: boolean): void {
  if (enabled) unprepared.delete(db);
  else unprepared.add(db);
}

function clientOf(db: DataSource, tx: EntityManager | undefined): Pool | PoolClient {
  // TypeORM's PostgreSQL driver keeps its node-postgres pool as `master`, and a query runner its
  // connection as `databaseConnection`; a manager outside a transaction uses the pool
  const runner = tx?.queryRunner as unknown as { databaseConnection?: PoolClient } | undefined;
  return runner?.databaseConnection ?? (db.driver as unknown as { master: Pool }).master;
}
