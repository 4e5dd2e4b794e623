import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, statsRow } from '../../apps/cli/test/support/cli-process.ts';

const FLOW = 'examples/pg-to-mariadb/flow.yaml';
const PGURL = 'postgres://postgres@127.0.0.1:5432/test';
const MARIADB_URL = 'mysql://root@127.0.0.1:3306/test';

describe('example pg-to-mariadb', () => {
  let source: pg.Client;
  let target: mysql.Connection;

  beforeAll(async () => {
    source = new pg.Client({ connectionString: PGURL });
    await source.connect();
    target = await mysql.createConnection(MARIADB_URL);
    await source.query('DROP TABLE IF EXISTS example_customers');
    await source.query(`CREATE TABLE example_customers (
      id integer PRIMARY KEY, name text NOT NULL, email text,
      amount numeric(10,2) NOT NULL, updated_at timestamptz NOT NULL)`);
    await source.query(`INSERT INTO example_customers VALUES
      (1, 'ada lovelace', 'ada@example.com', 12.34, '2026-02-01T10:00:00Z'),
      (2, 'alan turing', 'alan@example.com', 0.5, '2026-03-15T08:30:00Z'),
      (3, 'grace hopper', NULL, 1999.99, '2026-01-20T00:00:00Z'),
      (4, 'old customer', 'old@example.com', 5, '2025-06-01T00:00:00Z')`);
    await target.query('DROP TABLE IF EXISTS example_customers');
    await target.query(`CREATE TABLE example_customers (
      id int PRIMARY KEY, name varchar(200) NOT NULL, contact_email varchar(200),
      amount_cents bigint NOT NULL, updated_at datetime(3) NOT NULL)`);
    // a stale copy of customer 1: the upsert must replace it
    await target.query(
      `INSERT INTO example_customers VALUES (1, 'STALE', 'stale@example.com', 1, '2020-01-01 00:00:00')`,
    );
  });

  afterAll(async () => {
    await source?.end();
    await target?.end();
  });

  it('copies the customers changed since the date, mapped and upserted, and prints the stats table', async () => {
    const result = await runCli(['run', FLOW, '--param', 'since=2026-01-01'], {
      env: { PGURL, MARIADB_URL },
    });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);

    const [rows] = await target.query<mysql.RowDataPacket[]>(
      'SELECT id, name, contact_email, amount_cents FROM example_customers ORDER BY id',
    );
    expect(rows.map((r) => ({ ...r }))).toEqual([
      { id: 1, name: 'ADA LOVELACE', contact_email: 'ada@example.com', amount_cents: 1234 },
      { id: 2, name: 'ALAN TURING', contact_email: 'alan@example.com', amount_cents: 50 },
      { id: 3, name: 'GRACE HOPPER', contact_email: null, amount_cents: 199999 },
    ]);

    expect(statsRow(result.stdout, 'read')).toEqual([
      'read',
      'completed',
      '1',
      '3',
      '0',
      '0',
      expect.any(String),
      expect.any(String),
    ]);
    expect(statsRow(result.stdout, 'shape')?.slice(0, 6)).toEqual(['shape', 'completed', '3', '3', '0', '0']);
    expect(statsRow(result.stdout, 'write')?.slice(0, 6)).toEqual(['write', 'completed', '3', '3', '0', '0']);
    expect(result.stdout).toMatch(/✓ completed in /);
  });

  it('refuses a since that is not a date, naming the parameter, before touching any table', async () => {
    const result = await runCli(['run', FLOW, '--param', 'since=last tuesday'], {
      env: { PGURL, MARIADB_URL },
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('params.since: expected an ISO 8601 date such as 2026-01-31');
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(result.stdout).toBe('');
  });
});
