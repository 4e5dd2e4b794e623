import pg from 'pg';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { preparedQuery, usePreparedStatements } from '../src/database/prepared-query.ts';
import { dropDatabase, PG_SERVER, uniqueDatabaseName } from './support/api-process.ts';

// Hot statements run as named prepared statements on TypeORM's own connections: on the pool, and
// on a transaction's connection, where the statement must see (and roll back with) the
// transaction's writes.

const name = uniqueDatabaseName('junction_prepared');
let db: DataSource;

beforeAll(async () => {
  const admin = new pg.Client({ connectionString: `${PG_SERVER}/postgres` });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  db = new DataSource({ type: 'postgres', url: `${PG_SERVER}/${name}`, poolSize: 2 });
  await db.initialize();
  await db.query(`CREATE TABLE t (id int PRIMARY KEY, label text)`);
});

afterAll(async () => {
  await db?.destroy();
  await dropDatabase(name);
});

const INSERT = `INSERT INTO t SELECT v.id, v.label FROM json_to_recordset($1::json) AS v(id int, label text) RETURNING id, label`;

describe('preparedQuery', () => {
  it('runs a named statement inside a transaction, on its connection: prepared there, rolled back with it', async () => {
    const rows = await db
      .transaction(async (tx) => {
        const inserted = await preparedQuery<{ id: number; label: string }>(tx, 'test_insert', INSERT, [
          JSON.stringify([
            { id: 1, label: 'a' },
            { id: 2, label: 'b' },
          ]),
        ]);
        // the same connection: it sees the row and holds the prepared statement
        const seen = await tx.query<Array<{ n: number }>>(`SELECT count(*)::int AS n FROM t`);
        const prepared = await tx.query<Array<{ name: string }>>(
          `SELECT name FROM pg_prepared_statements WHERE name = 'test_insert'`,
        );
        expect(seen[0].n).toBe(2);
        expect(prepared).toEqual([{ name: 'test_insert' }]);
        expect(inserted).toEqual([
          { id: 1, label: 'a' },
          { id: 2, label: 'b' },
        ]);
        throw new Error('roll back');
      })
      .catch((e: unknown) => (e instanceof Error && e.message === 'roll back' ? 'rolled back' : e));
    expect(rows).toBe('rolled back');
    expect((await db.query<Array<{ n: number }>>(`SELECT count(*)::int AS n FROM t`))[0].n).toBe(0);
  });

  it('runs on the pool (a data source, or a manager outside a transaction) and again with the same name', async () => {
    for (let i = 0; i < 8; i++) {
      const on = i % 2 === 0 ? db : db.manager;
      const rows = await preparedQuery<{ id: number }>(on, 'test_insert', INSERT, [
        JSON.stringify([{ id: 10 + i, label: `x${i}` }]),
      ]);
      expect(rows).toEqual([{ id: 10 + i, label: `x${i}` }]);
    }
    expect((await db.query<Array<{ n: number }>>(`SELECT count(*)::int AS n FROM t`))[0].n).toBe(8);
  });

  it('sends the statement unnamed where prepared statements are off (DATABASE_PREPARED_STATEMENTS=false)', async () => {
    usePreparedStatements(db, false);
    try {
      await db.transaction(async (tx) => {
        const rows = await preparedQuery<{ id: number }>(tx, 'test_unnamed', INSERT, [
          JSON.stringify([{ id: 100, label: 'u' }]),
        ]);
        expect(rows).toEqual([{ id: 100, label: 'u' }]);
        const prepared = await tx.query<unknown[]>(
          `SELECT name FROM pg_prepared_statements WHERE name = 'test_unnamed'`,
        );
        expect(prepared).toEqual([]);
      });
    } finally {
      usePreparedStatements(db, true);
    }
  });

  it('passes a database error on unchanged', async () => {
    await expect(
      preparedQuery(db, 'test_insert', INSERT, [JSON.stringify([{ id: 10, label: 'dup' }])]),
    ).rejects.toThrow(/duplicate key value violates unique constraint/);
  });
});
