import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type mysql from 'mysql2/promise';
import { ConfigError, TransientError, type FlowRecord } from '@junction/flow';
import { connector } from '../../src/database/connector.ts';
import { ExecuteInput, execute } from '../../src/database/execute.operation.ts';
import { QueryInput, query } from '../../src/database/query.operation.ts';
import { WriteInput, write } from '../../src/database/write.operation.ts';
import { DatabaseConnectionSchema, type DatabaseConnection } from '../../src/database/connection.schema.ts';
import { MYSQL, collectPages, dbContext, mysqlAdmin, uniqueTable } from '../support/db-context.ts';

const thousand = uniqueTable('my_thousand');
const target = uniqueTable('my_target');
const victim = uniqueTable('my_victim');
let admin: mysql.Connection;

beforeAll(async () => {
  admin = await mysqlAdmin();
  await admin.query(`CREATE TABLE ${thousand} (n int PRIMARY KEY)`);
  await admin.query(
    `INSERT INTO ${thousand} (n) WITH RECURSIVE s(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM s WHERE n < 999) SELECT n FROM s`,
  );
  await admin.query(
    `CREATE TABLE ${target} (id int PRIMARY KEY, name varchar(100) NOT NULL, qty int CHECK (qty >= 0), doc json)`,
  );
  await admin.query(`CREATE TABLE ${victim} (id int)`);
});

afterAll(async () => {
  await admin.query(`DROP TABLE IF EXISTS ${thousand}, ${target}, ${victim}`);
  await admin.end();
});

const ctxFor = (options: { pageSize?: number; signal?: AbortSignal } = {}) => dbContext(MYSQL, options);

async function rowsOf(table: string): Promise<FlowRecord[]> {
  const [rows] = await admin.query(`SELECT * FROM ${table} ORDER BY id`);
  return rows as FlowRecord[];
}

async function expectNoRunningQuery(marker: string): Promise<void> {
  for (let i = 0; i < 30; i++) {
    const [rows] = await admin.query(
      `SELECT count(*) AS n FROM information_schema.processlist WHERE info LIKE ? AND id <> connection_id()`,
      [`%${marker}%`],
    );
    if (Number((rows as { n: number }[])[0].n) === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`a query with ${marker} is still running on the server`);
}

describe('database.query on MySQL/MariaDB', () => {
  it('streams a 100k-row result in pages of pageSize', async () => {
    const ctx = ctxFor();
    try {
      const input = QueryInput.parse({
        sql: `SELECT a.n * 1000 + b.n AS id FROM ${thousand} a CROSS JOIN ${thousand} b WHERE a.n < 100 ORDER BY id`,
        pageSize: 7000,
      });
      const sizes: number[] = [];
      let last = -1;
      for await (const page of query.execute(ctx, input)) {
        sizes.push(page.length);
        last = page[page.length - 1].id as number;
      }
      expect(sizes).toEqual([...Array<number>(14).fill(7000), 2000]);
      expect(last).toBe(99_999);
    } finally {
      await ctx.closeShared();
    }
  });

  it('reads a billion-row query page by page instead of loading it', async () => {
    const ctx = ctxFor();
    try {
      const marker = `billion_${Date.now()}`;
      const input = QueryInput.parse({
        sql: `SELECT a.n, b.n AS m, c.n AS k, '${marker}' AS marker FROM ${thousand} a, ${thousand} b, ${thousand} c`,
        pageSize: 500,
      });
      const started = Date.now();
      const seen: number[] = [];
      for await (const page of query.execute(ctx, input)) {
        seen.push(page.length);
        if (seen.length === 3) break;
      }
      expect(seen).toEqual([500, 500, 500]);
      expect(Date.now() - started).toBeLessThan(5000);
      await expectNoRunningQuery(marker);
    } finally {
      await ctx.closeShared();
    }
  });

  it('binds {name} and {{ expr }} as parameters, so an injection attempt is only a value', async () => {
    const ctx = dbContext(MYSQL, { bindings: { params: { limit: 3 }, steps: {} } });
    try {
      const attack = `'; DROP TABLE ${victim}; --`;
      const input = QueryInput.parse({
        sql: `SELECT {name} AS echoed, count(*) AS n FROM ${thousand} WHERE n < {{ params.limit }} AND {name} <> 'x'`,
        params: { name: attack },
      });
      const [[row]] = await collectPages(query.execute(ctx, input));
      expect(row).toEqual({ echoed: attack, n: 3 });
      const [tables] = await admin.query('SHOW TABLES LIKE ?', [victim]);
      expect(tables).toHaveLength(1);
    } finally {
      await ctx.closeShared();
    }
  });

  it('stops a running statement on the server when the signal aborts', async () => {
    const controller = new AbortController();
    const ctx = ctxFor({ signal: controller.signal });
    try {
      const marker = `abort_running_${Date.now()}`;
      const input = QueryInput.parse({ sql: `SELECT SLEEP(30) AS s, '${marker}' AS m` });
      setTimeout(() => controller.abort(), 300);
      const started = Date.now();
      expect(await collectPages(query.execute(ctx, input))).toEqual([]);
      expect(Date.now() - started).toBeLessThan(3000);
      await expectNoRunningQuery(marker);
    } finally {
      await ctx.closeShared();
    }
  });

  it('reports an unknown table as a configuration error naming it', async () => {
    const ctx = ctxFor();
    try {
      const error = await collectPages(
        query.execute(ctx, QueryInput.parse({ sql: 'SELECT * FROM no_such_table_here' })),
      ).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toBe(
        "MySQL: Table 'test.no_such_table_here' doesn't exist [ER_NO_SUCH_TABLE]",
      );
    } finally {
      await ctx.closeShared();
    }
  });
});

describe('database.write on MySQL/MariaDB', () => {
  const run = async (withInput: Record<string, unknown>, page: FlowRecord[]) => {
    const ctx = ctxFor();
    try {
      return await write.execute(ctx, WriteInput.parse(withInput), page);
    } finally {
      await ctx.closeShared();
    }
  };

  it('inserts records with JSON and null values, and passes them on', async () => {
    await admin.query(`TRUNCATE ${target}`);
    const page = [
      { id: 1, name: 'one', qty: 1, doc: { a: [1, 2] } },
      { id: 2, name: 'it\'s \\ "quoted"', qty: null },
      { id: 3, name: 'three', qty: 3 },
    ];
    expect(await run({ table: target, batchSize: 2 }, page)).toEqual({ records: page });
    const rows = await rowsOf(target);
    expect(rows.map((r) => [r.id, r.name, r.qty])).toEqual([
      [1, 'one', 1],
      [2, 'it\'s \\ "quoted"', null],
      [3, 'three', 3],
    ]);
    const doc = rows[0].doc;
    expect(typeof doc === 'string' ? JSON.parse(doc) : doc).toEqual({ a: [1, 2] });
  });

  it('writes 993 of 1,000 records and reports exactly the 7 that violate a constraint', async () => {
    await admin.query(`TRUNCATE ${target}`);
    const bad = new Set([0, 17, 250, 499, 500, 777, 999]);
    const page = Array.from({ length: 1000 }, (_, i) => ({
      id: i + 1,
      name: bad.has(i) && i % 2 === 0 ? null : `n${i}`, // NOT NULL violation
      qty: bad.has(i) && i % 2 === 1 ? -1 : i, // CHECK violation
    }));
    const result = await run({ table: target, columns: ['id', 'name', 'qty'] }, page);
    expect(result.errors?.map((e) => e.index).sort((a, b) => a - b)).toEqual([...bad]);
    expect(result.records).toHaveLength(993);
    expect(result.errors?.find((e) => e.index === 0)?.message).toBe(
      "MySQL: Column 'name' cannot be null [ER_BAD_NULL_ERROR]",
    );
    const [count] = await admin.query(`SELECT count(*) AS n FROM ${target}`);
    expect(Number((count as { n: number }[])[0].n)).toBe(993);
  });

  it('upserts: updates rows whose key exists, inserts the others', async () => {
    await admin.query(`TRUNCATE ${target}`);
    await admin.query(`INSERT INTO ${target} (id, name, qty) VALUES (1, 'old', 1), (2, 'keep', 2)`);
    const page = [
      { id: 1, name: 'new', qty: 10 },
      { id: 3, name: 'added', qty: 30 },
    ];
    const result = await run({ table: target, mode: 'upsert', keys: ['id'] }, page);
    expect(result.errors).toBeUndefined();
    expect((await rowsOf(target)).map((r) => [r.id, r.name, r.qty])).toEqual([
      [1, 'new', 10],
      [2, 'keep', 2],
      [3, 'added', 30],
    ]);
  });

  it('updates matching rows only, in one statement per batch', async () => {
    await admin.query(`TRUNCATE ${target}`);
    await admin.query(`INSERT INTO ${target} (id, name, qty) VALUES (1, 'a', 1), (2, 'b', 2), (3, 'c', 3)`);
    const page = [
      { id: 2, qty: 20 },
      { id: 3, qty: 30 },
      { id: 9, qty: 90 },
    ];
    const result = await run({ table: target, mode: 'update', keys: 'id' }, page);
    expect(result.records).toEqual(page);
    expect((await rowsOf(target)).map((r) => [r.id, r.name, r.qty])).toEqual([
      [1, 'a', 1],
      [2, 'b', 20],
      [3, 'c', 30],
    ]);
  });

  it('quotes table and column names, so a hostile name is an unknown identifier, not SQL', async () => {
    const error = await run({ table: `${victim}\`; DROP TABLE ${victim}; --` }, [{ id: 1 }]).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(/doesn't exist/);
    const [tables] = await admin.query('SHOW TABLES LIKE ?', [victim]);
    expect(tables).toHaveLength(1);
  });
});

describe('database.execute on MySQL/MariaDB', () => {
  it('runs once per record with {{ record.x }} bound, returning the affected row count', async () => {
    await admin.query(`TRUNCATE ${target}`);
    await admin.query(`INSERT INTO ${target} (id, name, qty) VALUES (1, 'a', 0), (2, 'b', 0), (3, 'c', 0)`);
    const ctx = dbContext(MYSQL);
    try {
      const update = ExecuteInput.parse({
        sql: `UPDATE ${target} SET qty = {{ record.qty }}, name = {name} WHERE id <= {{ record.upTo }}`,
        params: { name: "x'; --" },
      });
      expect(await execute.execute(ctx, update, { qty: 7, upTo: 2 })).toEqual({ rowCount: 2, rows: [] });
      const select = ExecuteInput.parse({
        sql: `SELECT id, name, qty FROM ${target} ORDER BY id`,
        maxRows: 2,
      });
      expect(await execute.execute(ctx, select, {})).toEqual({
        rowCount: 3,
        rows: [
          { id: 1, name: "x'; --", qty: 7 },
          { id: 2, name: "x'; --", qty: 7 },
        ],
      });
    } finally {
      await ctx.closeShared();
    }
  });

  it('stops the statement on the server and rejects when the signal aborts', async () => {
    const controller = new AbortController();
    const ctx = dbContext(MYSQL, { signal: controller.signal });
    try {
      const marker = `exec_abort_${Date.now()}`;
      setTimeout(() => controller.abort(), 300);
      const started = Date.now();
      const call = execute.execute(ctx, ExecuteInput.parse({ sql: `SELECT SLEEP(30), '${marker}'` }), {});
      await expect(call).rejects.toThrow(/aborted/);
      expect(Date.now() - started).toBeLessThan(3000);
      await expectNoRunningQuery(marker);
    } finally {
      await ctx.closeShared();
    }
  });

  it('returns the rows of a stored procedure call', async () => {
    const proc = uniqueTable('my_proc');
    await admin.query(`CREATE PROCEDURE ${proc}(IN x INT) SELECT x * 2 AS doubled`);
    const ctx = dbContext(MYSQL);
    try {
      const call = ExecuteInput.parse({ sql: `CALL ${proc}({{ record.x }})` });
      expect(await execute.execute(ctx, call, { x: 21 })).toEqual({ rowCount: 1, rows: [{ doubled: 42 }] });
    } finally {
      await ctx.closeShared();
      await admin.query(`DROP PROCEDURE ${proc}`);
    }
  });
});

describe('database connector test() on MySQL/MariaDB', () => {
  const signal = new AbortController().signal;

  it('opens and closes a real connection', async () => {
    await expect(connector.test!(MYSQL, signal)).resolves.toBeUndefined();
    const viaUrl = DatabaseConnectionSchema.parse({
      type: 'mariadb',
      url: 'mariadb://root@127.0.0.1:3306/test',
    });
    await expect(connector.test!(viaUrl, signal)).resolves.toBeUndefined();
  });

  it('says clearly that nothing listens on a wrong port', async () => {
    const wrong: DatabaseConnection = { ...MYSQL, port: 1 };
    const error = await connector.test!(wrong, signal).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientError);
    expect((error as Error).message).toBe('cannot reach MySQL at 127.0.0.1:1: connection refused');
  });

  it('reports refused credentials as a configuration error without the password', async () => {
    const wrong: DatabaseConnection = { ...MYSQL, user: 'nobody_here', password: 's3cret-pw' };
    const error = await connector.test!(wrong, signal).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(
      /^MySQL: Access denied for user 'nobody_here'@'.*' \(using password: YES\)/,
    );
    expect((error as Error).message).not.toContain('s3cret-pw');
  });
});
