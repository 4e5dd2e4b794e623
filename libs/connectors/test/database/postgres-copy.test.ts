import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import type { FlowRecord } from '@junction/flow';
import { WriteInput, write } from '../../src/database/write.operation.ts';
import { POSTGRES, dbContext, postgresAdmin, uniqueTable } from '../support/db-context.ts';

// Each table logs the statement that wrote to it (current_query() in a statement trigger), so a
// test sees whether a page went as COPY or as INSERT.
const viaCopy = uniqueTable('copy_a');
const viaInsert = uniqueTable('copy_b');
const base = uniqueTable('copy_base');
const view = uniqueTable('copy_view');
const slow = uniqueTable('copy_slow');
const log = uniqueTable('copy_log');
const logFn = uniqueTable('copy_log_fn');
const sleepFn = uniqueTable('copy_sleep_fn');
let admin: pg.Client;

const COLUMNS = `id int PRIMARY KEY, t text, n numeric, f float8, b boolean, ts timestamptz,
  j jsonb, js json, by bytea, big bigint, tags text[]`;

beforeAll(async () => {
  admin = await postgresAdmin();
  await admin.query(`CREATE TABLE ${log} (tbl text, query text)`);
  await admin.query(`CREATE FUNCTION ${logFn}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN INSERT INTO ${log} VALUES (TG_TABLE_NAME, current_query()); RETURN NULL; END $$`);
  await admin.query(`CREATE FUNCTION ${sleepFn}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN PERFORM pg_sleep(0.01); RETURN NEW; END $$`);
  for (const table of [viaCopy, viaInsert, base]) {
    await admin.query(`CREATE TABLE ${table} (${COLUMNS})`);
    await admin.query(
      `CREATE TRIGGER log_it AFTER INSERT ON ${table} FOR EACH STATEMENT EXECUTE FUNCTION ${logFn}()`,
    );
  }
  await admin.query(`CREATE VIEW ${view} AS SELECT * FROM ${base}`);
  await admin.query(`CREATE TABLE ${slow} (id int PRIMARY KEY)`);
  await admin.query(
    `CREATE TRIGGER slow_it BEFORE INSERT ON ${slow} FOR EACH ROW EXECUTE FUNCTION ${sleepFn}()`,
  );
});

afterAll(async () => {
  await admin.query(`DROP VIEW IF EXISTS ${view}`);
  await admin.query(`DROP TABLE IF EXISTS ${viaCopy}, ${viaInsert}, ${base}, ${slow}, ${log}`);
  await admin.query(`DROP FUNCTION IF EXISTS ${logFn}(), ${sleepFn}()`);
  await admin.end();
});

async function statementsOn(table: string): Promise<string[]> {
  const r = await admin.query<{ query: string }>(`SELECT query FROM ${log} WHERE tbl = $1`, [table]);
  return r.rows.map((row) => /^\s*(\w+)/.exec(row.query)?.[1].toUpperCase() ?? row.query);
}

async function rowsOf(table: string): Promise<unknown[]> {
  const r = await admin.query<Record<string, unknown>>(
    `SELECT *, by::text AS by_hex FROM ${table} ORDER BY id`,
  );
  return r.rows;
}

/** Values that need escaping or converting in COPY text, each in the column types they meet. */
function trickyPage(): FlowRecord[] {
  const texts = ['plain', '', 'tab\tnew\nline\rcr', 'back\\slash \\N \\.', 'ünïcödé € 😀', '\\x00', 'NULL'];
  return texts.map((t, i) => ({
    id: i + 1,
    t,
    n: i === 0 ? 0.1 + 0.2 : i === 1 ? Number.NaN : t === 'NULL' ? null : i * 1000.125,
    f: i === 2 ? Number.POSITIVE_INFINITY : -i / 3,
    b: i % 2 === 0,
    ts: new Date(Date.UTC(2026, 10, 25, 12, 0, i, 123)),
    j: i === 3 ? [1, 'two', { three: t }] : { text: t, nested: { n: i } },
    js: { text: t, list: [i, null] },
    by: Buffer.from(t, 'utf8'),
    big: i === 4 ? 2n ** 62n : i,
    // tags left out: a missing field is NULL in both paths
  }));
}

describe('database.write on PostgreSQL with COPY', () => {
  it('inserts with COPY and stores exactly what the INSERT path stores', async () => {
    const page = trickyPage();
    const ctx = dbContext(POSTGRES);
    try {
      const copied = await write.execute(ctx, WriteInput.parse({ table: viaCopy }), page);
      // upsert always goes as a statement: the reference
      const inserted = await write.execute(
        ctx,
        WriteInput.parse({ table: viaInsert, mode: 'upsert', keys: 'id' }),
        page,
      );
      expect(copied).toEqual({ records: page });
      expect(inserted).toEqual({ records: page });
    } finally {
      await ctx.closeShared();
    }
    expect(await statementsOn(viaCopy)).toEqual(['COPY']);
    expect(await statementsOn(viaInsert)).toEqual(['INSERT']);
    const [a, b] = [await rowsOf(viaCopy), await rowsOf(viaInsert)];
    expect(a).toHaveLength(page.length);
    expect(a).toEqual(b);
    // JSON has no Infinity or NaN: both paths store NULL
    expect(a[2]).toMatchObject({ t: 'tab\tnew\nline\rcr', f: null });
    expect(a[3]).toMatchObject({ t: 'back\\slash \\N \\.', j: [1, 'two', { three: 'back\\slash \\N \\.' }] });
    expect(a[1]).toMatchObject({ t: '', n: null });
  });

  it('writes a view with INSERT, since COPY cannot', async () => {
    const ctx = dbContext(POSTGRES);
    try {
      const page = [{ id: 1, t: 'through the view' }];
      expect(await write.execute(ctx, WriteInput.parse({ table: view }), page)).toEqual({ records: page });
    } finally {
      await ctx.closeShared();
    }
    expect(await statementsOn(base)).toEqual(['INSERT']);
    expect((await rowsOf(base)).map((r) => (r as { t: string }).t)).toEqual(['through the view']);
  });

  it('goes on with INSERT for the rest of the step when COPY refuses rows that INSERT takes', async () => {
    // a JavaScript array is JSON text to COPY, which a text[] column refuses; the JSON path converts it
    await admin.query(`TRUNCATE ${viaInsert}, ${log}`);
    const ctx = dbContext(POSTGRES);
    try {
      const input = WriteInput.parse({ table: viaInsert });
      const first = [{ id: 1, tags: ['a', 'b'] }];
      const second = [{ id: 2, tags: ['c'] }];
      expect(await write.execute(ctx, input, first)).toEqual({ records: first });
      expect(await write.execute(ctx, input, second)).toEqual({ records: second });
    } finally {
      await ctx.closeShared();
    }
    const r = await admin.query(`SELECT id, tags FROM ${viaInsert} ORDER BY id`);
    expect(r.rows).toEqual([
      { id: 1, tags: ['a', 'b'] },
      { id: 2, tags: ['c'] },
    ]);
    expect(await statementsOn(viaInsert)).toEqual(['INSERT', 'INSERT']);
    expect(ctx.logs.filter((l) => l.includes('with INSERT statements from now on'))).toHaveLength(1);
  });

  it('stops a COPY under way on the server when the signal aborts, and rejects', async () => {
    const controller = new AbortController();
    const ctx = dbContext(POSTGRES, { signal: controller.signal });
    const page = Array.from({ length: 1000 }, (_, i) => ({ id: i + 1 })); // 10 s of row triggers
    setTimeout(() => controller.abort(), 300);
    const started = Date.now();
    try {
      const error = await write
        .execute(ctx, WriteInput.parse({ table: slow }), page)
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).message).toMatch(/abort/i);
      expect(Date.now() - started).toBeLessThan(3000);
    } finally {
      await ctx.closeShared();
    }
    const running = await admin.query(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE state <> 'idle' AND query LIKE $1`,
      [`COPY %${slow}%`],
    );
    expect(running.rows[0].n).toBe(0);
    const written = await admin.query(`SELECT count(*)::int AS n FROM ${slow}`);
    expect(written.rows[0].n).toBe(0);
  });
});
