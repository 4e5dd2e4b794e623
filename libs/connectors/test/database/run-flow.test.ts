import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import type mysql from 'mysql2/promise';
import { runFlow, type RunOptions } from '@junction/engine';
import { catalogOf, parseFlow, validateFlow, type ConnectorRegistry } from '@junction/flow';
import { loadConnectorRegistry } from '../../src/registry.ts';
import { mysqlAdmin, postgresAdmin, uniqueTable } from '../support/db-context.ts';

type RunEvent = Parameters<NonNullable<RunOptions['onEvent']>>[0];

const PG = { type: 'postgres', host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test' };
const MY = { type: 'mysql', host: '127.0.0.1', port: 3306, user: 'root', database: 'test' };

const source = uniqueTable('flow_src');
const target = uniqueTable('flow_dst');
const big = uniqueTable('flow_big');
const bigCopy = uniqueTable('flow_big_copy');
const audit = uniqueTable('flow_audit');
let admin: pg.Client;
let my: mysql.Connection;
let registry: ConnectorRegistry;

beforeAll(async () => {
  registry = await loadConnectorRegistry();
  admin = await postgresAdmin();
  my = await mysqlAdmin();
  await admin.query(`CREATE TABLE ${source} (id int PRIMARY KEY, name text, qty int)`);
  // every 142nd row has a negative quantity: 7 of 1,000 break the target's CHECK
  await admin.query(
    `INSERT INTO ${source} SELECT g, 'item ' || g, CASE WHEN g % 142 = 0 THEN -1 ELSE g END FROM generate_series(1, 1000) g`,
  );
  await admin.query(
    `CREATE TABLE ${target} (id int PRIMARY KEY, name text NOT NULL, qty int CHECK (qty >= 0))`,
  );
  await admin.query(`CREATE TABLE ${big} (id int PRIMARY KEY, name text, email text, amount numeric(12,2))`);
  await admin.query(
    `INSERT INTO ${big} SELECT g, 'name ' || g, 'user' || g || '@example.org', g * 1.5 FROM generate_series(1, 100000) g`,
  );
  await admin.query(`CREATE TABLE ${bigCopy} (id int PRIMARY KEY, name text, email text, cents bigint)`);
  await my.query(`CREATE TABLE ${audit} (id int PRIMARY KEY, label varchar(100))`);
});

afterAll(async () => {
  await admin.query(`DROP TABLE IF EXISTS ${source}, ${target}, ${big}, ${bigCopy}`);
  await admin.end();
  await my.query(`DROP TABLE IF EXISTS ${audit}`);
  await my.end();
});

async function run(flow: unknown, options: Partial<RunOptions> = {}) {
  const events: RunEvent[] = [];
  const parsed = parseFlow(flow, { catalog: catalogOf(registry) });
  const result = await runFlow(parsed, { registry, onEvent: (e) => void events.push(e), ...options });
  return { result, events };
}

describe('database steps in a flow run by the engine', () => {
  it('copies PostgreSQL → map → PostgreSQL, writing 993 rows and reporting the 7 bad ones', async () => {
    const { result, events } = await run(
      {
        name: 'copy with bad rows',
        params: { min: { type: 'integer', default: 0 } },
        steps: [
          {
            id: 'read',
            use: 'database.query',
            connection: PG,
            with: {
              sql: `SELECT id, name, qty FROM ${source} WHERE id > {{ params.min }} ORDER BY id`,
              pageSize: 250,
            },
          },
          {
            id: 'shape',
            use: 'transform.map',
            with: {
              fields: {
                id: '{{ record.id }}',
                name: '{{ $uppercase(record.name) }}',
                qty: '{{ record.qty }}',
              },
            },
          },
          { id: 'save', use: 'database.write', connection: PG, with: { table: target }, onError: 'continue' },
        ],
      },
      { params: { min: '0' } },
    );
    expect(result.status).toBe('completed');
    expect(result.errorCount).toBe(7);
    const errors = events.filter((e) => e.type === 'record.error');
    expect(errors.map((e) => (e as { record?: { id?: number } }).record?.id)).toEqual([
      142, 284, 426, 568, 710, 852, 994,
    ]);
    expect(result.stats.save).toMatchObject({ in: 1000, out: 993, errors: 7 });
    const count = await admin.query(`SELECT count(*)::int AS n, min(name) AS first FROM ${target}`);
    expect(count.rows[0]).toEqual({ n: 993, first: 'ITEM 1' });
  });

  it('reads `{{` inside a SQL literal as SQL, from validation to the rows (PostgreSQL and MySQL)', async () => {
    const flow = (sql: string, connection: unknown) => ({
      name: 'literal braces',
      params: { n: { type: 'integer', default: 0 } },
      steps: [{ id: 'q', use: 'database.query', connection, with: { sql } }],
    });
    const pgRun = await run(flow("SELECT '{{1,2},{3,4}}'::int[] AS a, {{ params.n }}::int AS b", PG), {
      params: { n: 7 },
    });
    expect(pgRun.result.status).toBe('completed');
    expect(pgRun.result.output).toEqual({
      a: [
        [1, 2],
        [3, 4],
      ],
      b: 7,
    });
    const myRun = await run(flow("SELECT '{{x}}' AS a, {{ params.n }} AS b", MY), { params: { n: 8 } });
    expect(myRun.result.status).toBe('completed');
    expect(myRun.result.output).toEqual({ a: '{{x}}', b: 8 });

    // a template outside the literals is still checked, at its own position
    const badSql = "SELECT '{{1,2}}'::int[], {{ params.n + }} AS b";
    const bad = validateFlow(flow(badSql, PG), { catalog: catalogOf(registry) });
    expect(bad.problems).toEqual([
      {
        path: 'steps[0].with.sql',
        message: expect.stringContaining(`(expression starts at character ${badSql.indexOf('params.n +')})`),
      },
    ]);
  });

  it('retries a page after a transient failure from the batch that failed, not from the start', async () => {
    const flaky = uniqueTable('flow_flaky');
    // the first attempt to write row 5 fails as a serialization failure (retryable); a sequence,
    // since it is not rolled back with the failed statement
    await admin.query(`CREATE TABLE ${flaky} (id int PRIMARY KEY, name text)`);
    await admin.query(`CREATE SEQUENCE ${flaky}_tries`);
    await admin.query(`
      CREATE FUNCTION ${flaky}_fail_once() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.id = 5 AND nextval('${flaky}_tries') = 1 THEN
          RAISE EXCEPTION 'could not serialize access' USING ERRCODE = '40001';
        END IF;
        RETURN NEW;
      END $$`);
    await admin.query(
      `CREATE TRIGGER fail_once BEFORE INSERT ON ${flaky} FOR EACH ROW EXECUTE FUNCTION ${flaky}_fail_once()`,
    );
    try {
      const { result, events } = await run({
        name: 'flaky write',
        steps: [
          {
            id: 'read',
            use: 'database.query',
            connection: PG,
            with: { sql: `SELECT id, name FROM ${source} WHERE id <= 6 ORDER BY id` },
          },
          {
            id: 'save',
            use: 'database.write',
            connection: PG,
            // three batches of two rows in one page: batches 1 and 2 are committed when 3 fails
            with: { table: flaky, batchSize: 2 },
            retry: { attempts: 3, backoff: 'fixed', delayMs: 10, jitter: false },
          },
        ],
      });
      expect(result.status).toBe('completed');
      expect(result.errorCount).toBe(0);
      expect(result.stats.save).toMatchObject({ in: 6, out: 6, errors: 0 });
      const rows = await admin.query(`SELECT id FROM ${flaky} ORDER BY id`);
      expect(rows.rows.map((r: { id: number }) => r.id)).toEqual([1, 2, 3, 4, 5, 6]);
      const logs = events.filter((e) => e.type === 'step.log').map((e) => (e as { message: string }).message);
      expect(logs.some((m) => m.includes('retrying the page from row 4'))).toBe(true);
    } finally {
      await admin.query(`DROP TABLE IF EXISTS ${flaky}`);
      await admin.query(`DROP FUNCTION IF EXISTS ${flaky}_fail_once()`);
      await admin.query(`DROP SEQUENCE IF EXISTS ${flaky}_tries`);
    }
  });

  it('runs database.execute once per record with the record bound, across databases', async () => {
    const { result } = await run({
      name: 'audit',
      steps: [
        {
          id: 'read',
          use: 'database.query',
          connection: PG,
          with: { sql: `SELECT id, name FROM ${source} WHERE id <= 5 ORDER BY id` },
        },
        {
          id: 'log',
          use: 'database.execute',
          connection: MY,
          with: {
            sql: `INSERT INTO ${audit} (id, label) VALUES ({{ record.id }}, {{ 'seen ' & record.name }})`,
          },
        },
      ],
    });
    expect(result.status).toBe('completed');
    expect(result.output).toEqual({ rowCount: 1, rows: [] });
    const [rows] = await my.query(`SELECT id, label FROM ${audit} ORDER BY id`);
    expect(rows).toEqual([1, 2, 3, 4, 5].map((id) => ({ id, label: `seen item ${id}` })));
  });

  it('copies 100k rows through a map at a rate worth measuring', async () => {
    const { result } = await run({
      name: 'bulk copy',
      steps: [
        { id: 'read', use: 'database.query', connection: PG, with: { sql: `SELECT * FROM ${big}` } },
        {
          id: 'shape',
          use: 'transform.map',
          with: {
            fields: {
              id: '{{ record.id }}',
              name: '{{ $uppercase(record.name) }}',
              email: '{{ record.email }}',
              cents: '{{ $round($number(record.amount) * 100) }}',
            },
          },
        },
        { id: 'save', use: 'database.write', connection: PG, with: { table: bigCopy } },
      ],
    });
    expect(result.status).toBe('completed');
    expect(result.stats.save).toMatchObject({ in: 100_000, out: 100_000, errors: 0 });
    const rate = Math.round(100_000 / (result.durationMs / 1000));
    console.log(`PostgreSQL → map → PostgreSQL: 100,000 rows in ${result.durationMs} ms = ${rate} rows/s`);
    // A floor that a loaded CI machine still clears; the rate itself is printed above.
    expect(rate).toBeGreaterThan(10_000);
    const check = await admin.query(`SELECT count(*)::int AS n, sum(cents)::bigint AS cents FROM ${bigCopy}`);
    expect(check.rows[0]).toEqual({ n: 100_000, cents: String((150 * 100_000 * 100_001) / 2) });
  });

  it.each([
    {
      db: 'PostgreSQL',
      connection: PG,
      sleep: 'pg_sleep(30)',
      running: async (marker: string) =>
        (
          await admin.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM pg_stat_activity WHERE state <> 'idle' AND query LIKE $1 AND pid <> pg_backend_pid()`,
            [`%${marker}%`],
          )
        ).rows[0].n,
    },
    {
      db: 'MySQL',
      connection: MY,
      sleep: 'SLEEP(30)',
      running: async (marker: string) => {
        const [rows] = await my.query(
          `SELECT count(*) AS n FROM information_schema.PROCESSLIST WHERE COMMAND = 'Query' AND INFO LIKE ? AND ID <> CONNECTION_ID()`,
          [`%${marker}%`],
        );
        return Number((rows as Array<{ n: number }>)[0].n);
      },
    },
  ])('has stopped the $db query on the server by the time a cancelled run returns', async (c) => {
    // A process may exit as soon as runFlow returns: the statement must not run on after it.
    const marker = `cancel_awaited_${Date.now()}`;
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    const started = Date.now();
    const { result } = await run(
      {
        name: 'cancelled read',
        steps: [
          {
            id: 'read',
            use: 'database.query',
            connection: c.connection,
            with: { sql: `SELECT ${c.sleep}, '${marker}' AS m` },
          },
        ],
      },
      { signal: controller.signal },
    );
    expect(result.status).toBe('cancelled');
    expect(Date.now() - started).toBeLessThan(5000);
    // checked once, right away: no waiting for a cancel still on its way
    expect(await c.running(marker)).toBe(0);
  });
});
