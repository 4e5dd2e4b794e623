import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCli, statsRow } from '../../apps/cli/test/support/cli-process.ts';
import { sendJson, startLocalHttpServer, type LocalHttpServer } from './local-http-server.ts';

const FLOW = 'examples/try-catch-on-failure/flow.yaml';
const PGURL = 'postgres://postgres@127.0.0.1:5432/test';

describe('example try-catch-on-failure', () => {
  let db: pg.Client;
  let alerts: LocalHttpServer;

  beforeAll(async () => {
    db = new pg.Client({ connectionString: PGURL });
    await db.connect();
    await db.query('DROP TABLE IF EXISTS example_caught_errors');
    await db.query(
      'CREATE TABLE example_caught_errors (id serial PRIMARY KEY, step text, message text, at timestamptz DEFAULT now())',
    );
    alerts = await startLocalHttpServer((_req, res) => sendJson(res, 200, { received: true }));
  });

  beforeEach(async () => {
    await db.query('TRUNCATE example_caught_errors');
    alerts.received.length = 0;
  });

  afterAll(async () => {
    await db?.end();
    await alerts?.close();
  });

  it('catches the failing step, records its error in the catch block and completes', async () => {
    const result = await runCli(['run', FLOW, '--param', `notifyUrl=${alerts.url}/alerts`], {
      env: { PGURL },
    });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);

    const { rows } = await db.query<{ step: string; message: string }>(
      'SELECT step, message FROM example_caught_errors',
    );
    expect(rows).toEqual([
      {
        step: 'load_legacy',
        message: expect.stringContaining('relation "example_legacy_orders" does not exist'),
      },
    ]);
    expect(statsRow(result.stdout, 'load_legacy')?.slice(0, 2)).toEqual(['load_legacy', 'failed']);
    expect(statsRow(result.stdout, 'ratio')?.slice(0, 4)).toEqual(['ratio', 'completed', '1', '1']);
    expect(alerts.received).toEqual([]);
  });

  it('runs onFailure with the error when a later step fails, and exits 1', async () => {
    const result = await runCli(
      ['run', FLOW, '--param', `notifyUrl=${alerts.url}/alerts`, '--param', 'divisor=0'],
      {
        env: { PGURL },
      },
    );
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/✗ failed at step ratio after .*division by zero/);

    expect(alerts.received).toHaveLength(1);
    const alert = alerts.received[0];
    expect(alert.method).toBe('POST');
    expect(alert.url).toBe('/alerts');
    expect(JSON.parse(alert.body)).toEqual({
      flow: 'try-catch-on-failure',
      step: 'ratio',
      message: expect.stringContaining('division by zero'),
    });
    // the caught failure before it was still recorded
    const { rows } = await db.query('SELECT step FROM example_caught_errors');
    expect(rows).toEqual([{ step: 'load_legacy' }]);
  });
});
