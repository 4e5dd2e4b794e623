import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { ConfigError, TransientError, type FlowRecord } from '@junction/flow';
import { connector } from '../../src/database/connector.ts';
import { ExecuteInput, execute } from '../../src/database/execute.operation.ts';
import { QueryInput, query } from '../../src/database/query.operation.ts';
import { WriteInput, write } from '../../src/database/write.operation.ts';
import { DatabaseConnectionSchema, type DatabaseConnection } from '../../src/database/connection.schema.ts';
import { POSTGRES, collectPages, dbContext, postgresAdmin, uniqueTable } from '../support/db-context.ts';

const items = uniqueTable('pg_items');
const target = uniqueTable('pg_target');
const victim = uniqueTable('pg_victim');
let admin: pg.Client;

beforeAll(async () => {
  admin = await postgresAdmin();
  await admin.query(`CREATE TABLE ${items} (id int PRIMARY KEY, name text NOT NULL, qty int)`);
  await admin.query(`INSERT INTO ${items} SELECT g, 'item ' || g, g % 10 FROM generate_series(1, 100000) g`);
  await admin.query(
    `CREATE TABLE ${target} (id int PRIMARY KEY, name text NOT NULL, qty int CHECK (qty >= 0), doc jsonb, tags text[])`,
  );
  await admin.query(`CREATE TABLE ${victim} (id int)`);
});

afterAll(async () => {
  await admin.query(`DROP TABLE IF EXISTS ${items}, ${target}, ${victim}`);
  await admin.end();
});

const ctxFor = (options: { pageSize?: number; signal?: AbortSignal } = {}) => dbContext(POSTGRES, options);

async function rowsOf(table: string): Promise<FlowRecord[]> {
  return (await admin.query<FlowRecord>(`SELECT * FROM ${table} ORDER BY id`)).rows;
}

describe('database.query on PostgreSQL', () => {
  it('streams a 100k-row result in pages of pageSize', async () => {
    const ctx = ctxFor();
    try {
      const input = QueryInput.parse({ sql: `SELECT id, name FROM ${items} ORDER BY id`, pageSize: 7000 });
      const sizes: number[] = [];
      let last = 0;
      for await (const page of query.execute(ctx, input)) {
        sizes.push(page.length);
        last = page[page.length - 1].id as number;
      }
      expect(sizes).toEqual([...Array<number>(14).fill(7000), 2000]);
      expect(last).toBe(100_000);
    } finally {
      await ctx.closeShared();
    }
  });

  it("uses the run's page size when pageSize is not given", async () => {
    const ctx = ctxFor({ pageSize: 300 });
    try {
      const pages = await collectPages(
        query.execute(ctx, QueryInput.parse({ sql: `SELECT id FROM ${items} WHERE id <= 1000 ORDER BY id` })),
      );
      expect(pages.map((p) => p.length)).toEqual([300, 300, 300, 100]);
    } finally {
      await ctx.closeShared();
    }
  });

  it('reads a billion-row query page by page instead of loading it', async () => {
    // generate_series in the select list produces rows on demand: only a cursor can end this quickly
    const ctx = ctxFor();
    try {
      const marker = `billion_${Date.now()}`;
      const input = QueryInput.parse({
        sql: `SELECT generate_series(1, 1000000000) AS n, '${marker}' AS m`,
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
      // leaving the loop closed the cursor: the server is not producing rows any more
      await expectNoActiveQuery(marker);
    } finally {
      await ctx.closeShared();
    }
  });

  it('binds {name} and {{ expr }} as parameters, so an injection attempt is only a value', async () => {
    const ctx = dbContext(POSTGRES, { bindings: { params: { limit: 3 }, steps: {} } });
    try {
      const attack = `'; DROP TABLE ${victim}; --`;
      const input = QueryInput.parse({
        sql: `SELECT {name}::text AS echoed, count(*)::int AS n FROM ${items} WHERE id <= {{ params.limit }} AND name <> {name}`,
        params: { name: attack },
      });
      const [[row]] = await collectPages(query.execute(ctx, input));
      expect(row).toEqual({ echoed: attack, n: 3 });
      const still = await admin.query(`SELECT to_regclass($1) AS t`, [victim]);
      expect(still.rows[0].t).toBe(victim);
    } finally {
      await ctx.closeShared();
    }
  });

  it('stops reading and frees its connection when the signal aborts between pages', async () => {
    const controller = new AbortController();
    const ctx = ctxFor({ signal: controller.signal });
    try {
      const marker = `abort_between_${Date.now()}`;
      const input = QueryInput.parse({
        sql: `SELECT n, '${marker}' AS m FROM generate_series(1, 100000) n`,
        pageSize: 100,
      });
      const pages: number[] = [];
      for await (const page of query.execute(ctx, input)) {
        pages.push(page.length);
        controller.abort();
      }
      expect(pages).toEqual([100]);
      await expectNoActiveQuery(marker);
    } finally {
      await ctx.closeShared();
    }
  });

  it('cancels a running statement on the server when the signal aborts', async () => {
    const controller = new AbortController();
    const ctx = ctxFor({ signal: controller.signal });
    try {
      const marker = `abort_running_${Date.now()}`;
      const input = QueryInput.parse({ sql: `SELECT pg_sleep(30), '${marker}' AS m` });
      setTimeout(() => controller.abort(), 300);
      const started = Date.now();
      const pages = await collectPages(query.execute(ctx, input));
      expect(pages).toEqual([]);
      expect(Date.now() - started).toBeLessThan(3000);
      await expectNoActiveQuery(marker);
    } finally {
      await ctx.closeShared();
    }
  });

  it('reports an unknown table as a configuration error naming it', async () => {
    const ctx = ctxFor();
    try {
      const pages = query.execute(ctx, QueryInput.parse({ sql: 'SELECT * FROM no_such_table_here' }));
      const error = await collectPages(pages).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toBe(
        'PostgreSQL: relation "no_such_table_here" does not exist [42P01]',
      );
    } finally {
      await ctx.closeShared();
    }
  });
});

async function expectNoActiveQuery(marker: string): Promise<void> {
  // the cancel request is asynchronous: give the server a moment
  for (let i = 0; i < 20; i++) {
    const r = await admin.query(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE state <> 'idle' AND query LIKE $1 AND pid <> pg_backend_pid()`,
      [`%${marker}%`],
    );
    if (r.rows[0].n === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`a query with ${marker} is still running on the server`);
}

describe('database.write on PostgreSQL', () => {
  const run = async (withInput: Record<string, unknown>, page: FlowRecord[]) => {
    const ctx = ctxFor();
    try {
      return await write.execute(ctx, WriteInput.parse(withInput), page);
    } finally {
      await ctx.closeShared();
    }
  };

  it('inserts records with json, array and null values, and passes them on', async () => {
    await admin.query(`TRUNCATE ${target}`);
    const page = [
      { id: 1, name: 'one', qty: 1, doc: { a: [1, 2] }, tags: ['x', 'y'] },
      { id: 2, name: 'it\'s "quoted"', qty: null, doc: null, tags: [] },
      { id: 3, name: 'three' },
    ];
    const result = await run({ table: target, batchSize: 2 }, page);
    expect(result).toEqual({ records: page });
    expect(await rowsOf(target)).toEqual([
      { id: 1, name: 'one', qty: 1, doc: { a: [1, 2] }, tags: ['x', 'y'] },
      { id: 2, name: 'it\'s "quoted"', qty: null, doc: null, tags: [] },
      { id: 3, name: 'three', qty: null, doc: null, tags: null },
    ]);
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
    expect(result.records.some((r) => bad.has((r.id as number) - 1))).toBe(false);
    const error = result.errors?.find((e) => e.index === 17);
    expect(error?.message).toMatch(/^PostgreSQL: new row for relation ".*" violates check constraint/);
    expect(error?.retryable).toBe(false);
    const count = await admin.query(`SELECT count(*)::int AS n FROM ${target}`);
    expect(count.rows[0].n).toBe(993);
  });

  it('upserts on the keys: updates existing rows, inserts new ones', async () => {
    await admin.query(`TRUNCATE ${target}`);
    await admin.query(`INSERT INTO ${target} (id, name, qty) VALUES (1, 'old', 1), (2, 'keep', 2)`);
    const page = [
      { id: 1, name: 'new', qty: 10 },
      { id: 3, name: 'added', qty: 30 },
    ];
    const result = await run({ table: target, mode: 'upsert', keys: 'id' }, page);
    expect(result.errors).toBeUndefined();
    expect((await rowsOf(target)).map((r) => [r.id, r.name, r.qty])).toEqual([
      [1, 'new', 10],
      [2, 'keep', 2],
      [3, 'added', 30],
    ]);
  });

  it('upserts a batch that holds the same key twice: the later record wins, nothing fails', async () => {
    await admin.query(`TRUNCATE ${target}`);
    const page = [
      { id: 1, name: 'first', qty: 1 },
      { id: 2, name: 'other', qty: 2 },
      { id: 1, name: 'second', qty: 3 },
    ];
    const result = await run({ table: target, mode: 'upsert', keys: ['id'] }, page);
    expect(result).toEqual({ records: page });
    expect((await rowsOf(target)).map((r) => [r.id, r.name, r.qty])).toEqual([
      [1, 'second', 3],
      [2, 'other', 2],
    ]);
  });

  it('updates matching rows only, setting only the given columns', async () => {
    await admin.query(`TRUNCATE ${target}`);
    await admin.query(`INSERT INTO ${target} (id, name, qty) VALUES (1, 'a', 1), (2, 'b', 2)`);
    const page = [
      { id: 2, qty: 20, name: 'ignored' },
      { id: 9, qty: 90, name: 'nobody' },
    ];
    const result = await run({ table: target, mode: 'update', keys: ['id'], columns: ['id', 'qty'] }, page);
    expect(result.records).toEqual(page);
    expect((await rowsOf(target)).map((r) => [r.id, r.name, r.qty])).toEqual([
      [1, 'a', 1],
      [2, 'b', 20],
    ]);
  });

  it('quotes table and column names, so a hostile name is an unknown identifier, not SQL', async () => {
    const error = await run({ table: `${victim}; DROP TABLE ${victim}` }, [{ id: 1 }]).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(/does not exist/);
    const error2 = await run({ table: victim }, [{ 'id") VALUES (1); DROP TABLE x; --': 1 }]).catch(
      (e: unknown) => e,
    );
    expect(error2).toBeInstanceOf(ConfigError);
    const still = await admin.query(`SELECT to_regclass($1) AS t`, [victim]);
    expect(still.rows[0].t).toBe(victim);
  });

  it('requires keys for upsert and update', () => {
    const r = WriteInput.safeParse({ table: 't', mode: 'upsert' });
    expect(r.success).toBe(false);
    expect(r.error?.issues).toEqual([
      expect.objectContaining({ path: ['keys'], message: 'required when mode is "upsert"' }),
    ]);
  });
});

describe('database.execute on PostgreSQL', () => {
  it('runs once per record with {{ record.x }} bound, returning rowCount and capped rows', async () => {
    await admin.query(`TRUNCATE ${target}`);
    await admin.query(`INSERT INTO ${target} (id, name, qty) SELECT g, 'n', 0 FROM generate_series(1, 5) g`);
    const ctx = dbContext(POSTGRES);
    try {
      const update = ExecuteInput.parse({
        sql: `UPDATE ${target} SET qty = {{ record.qty }}, name = {suffix} WHERE id <= {{ record.upTo }}`,
        params: { suffix: "x'; --" },
      });
      expect(await execute.execute(ctx, update, { qty: 7, upTo: 3 })).toEqual({ rowCount: 3, rows: [] });
      const select = ExecuteInput.parse({ sql: `SELECT id, name FROM ${target} ORDER BY id`, maxRows: 2 });
      expect(await execute.execute(ctx, select, {})).toEqual({
        rowCount: 5,
        rows: [
          { id: 1, name: "x'; --" },
          { id: 2, name: "x'; --" },
        ],
      });
    } finally {
      await ctx.closeShared();
    }
  });

  it('cancels the statement on the server and rejects when the signal aborts', async () => {
    const controller = new AbortController();
    const ctx = dbContext(POSTGRES, { signal: controller.signal });
    try {
      const marker = `exec_abort_${Date.now()}`;
      setTimeout(() => controller.abort(), 300);
      const started = Date.now();
      const call = execute.execute(ctx, ExecuteInput.parse({ sql: `SELECT pg_sleep(30), '${marker}'` }), {});
      await expect(call).rejects.toThrow(/aborted/);
      expect(Date.now() - started).toBeLessThan(3000);
      await expectNoActiveQuery(marker);
    } finally {
      await ctx.closeShared();
    }
  });

  it('rejects at once when aborted even if the cancel request cannot get through', async () => {
    // a role allowed one connection: the statement's own, so the cancel's connection is refused
    const role = `junction_one_${Date.now()}`;
    await admin.query(`CREATE ROLE ${role} LOGIN CONNECTION LIMIT 1`);
    const controller = new AbortController();
    const ctx = dbContext({ ...POSTGRES, user: role }, { signal: controller.signal });
    try {
      setTimeout(() => controller.abort(), 300);
      const started = Date.now();
      const call = execute.execute(ctx, ExecuteInput.parse({ sql: 'SELECT pg_sleep(5)' }), {});
      await expect(call).rejects.toThrow(/aborted/);
      // not after the 5 s statement: the call settles when the socket is dropped (the cancel's
      // own attempt is bounded by 2 s)
      expect(Date.now() - started).toBeLessThan(3_000);
    } finally {
      await ctx.closeShared();
      await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1`, [role]);
      await admin.query(`DROP ROLE ${role}`);
    }
  });

  it('reports a syntax error as a configuration error without the stack', async () => {
    const ctx = dbContext(POSTGRES);
    try {
      const error = await execute
        .execute(ctx, ExecuteInput.parse({ sql: 'SELEC 1' }), {})
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toBe('PostgreSQL: syntax error at or near "SELEC" [42601]');
    } finally {
      await ctx.closeShared();
    }
  });
});

describe('database connector test() on PostgreSQL', () => {
  const signal = new AbortController().signal;

  it('opens and closes a real connection', async () => {
    await expect(connector.test!(POSTGRES, signal)).resolves.toBeUndefined();
    const viaUrl = DatabaseConnectionSchema.parse({
      type: 'postgres',
      url: 'postgres://postgres@127.0.0.1:5432/test',
    });
    await expect(connector.test!(viaUrl, signal)).resolves.toBeUndefined();
  });

  it('says clearly that nothing listens on a wrong port', async () => {
    const wrong: DatabaseConnection = { ...POSTGRES, port: 1 };
    const error = await connector.test!(wrong, signal).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientError);
    expect((error as Error).message).toBe('cannot reach PostgreSQL at 127.0.0.1:1: connection refused');
  });

  it('names a database that does not exist, without showing the password', async () => {
    const wrong: DatabaseConnection = { ...POSTGRES, database: 'no_such_db_here', password: 's3cret-pw' };
    const error = await connector.test!(wrong, signal).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toBe('PostgreSQL: database "no_such_db_here" does not exist [3D000]');
    expect(String((error as Error).message)).not.toContain('s3cret-pw');
  });
});
