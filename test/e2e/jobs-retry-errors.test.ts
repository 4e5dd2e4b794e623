import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PG_URL, startJobsEnv, type JobView, type JobsEnv } from '../support/jobs-env.ts';

let env: JobsEnv;
let db: pg.Pool;
const suffix = randomBytes(4).toString('hex');
const source = `e2e_src_${suffix}`;
const target = `e2e_dst_${suffix}`;
const BAD = [3, 99, 250, 251, 600, 777, 1000];

beforeAll(async () => {
  db = new pg.Pool({ connectionString: PG_URL, max: 2 });
  await db.query(
    `CREATE TABLE ${source} AS
    SELECT id, CASE WHEN id = ANY($1::int[]) THEN -id ELSE id END AS amount FROM generate_series(1, 1000) AS id`.replace(
      '$1::int[]',
      `ARRAY[${BAD.join(',')}]`,
    ),
  );
  await db.query(
    `CREATE TABLE ${target} (id int PRIMARY KEY, amount int NOT NULL CONSTRAINT ${target}_positive CHECK (amount >= 0))`,
  );
  env = await startJobsEnv({ workers: 2 });
  await env.createConnection('pg', 'postgres', { url: PG_URL });
}, 180_000);

afterAll(async () => {
  await env?.stop();
  await db?.query(`DROP TABLE IF EXISTS ${source}, ${target}`);
  await db?.end();
});

interface ErrorView {
  id: string;
  stepId: string;
  message: string;
  record: { id: number; amount: number };
  status: string;
  retriedByJobId: string | null;
}

describe('retrying failed records', () => {
  it('retries exactly the failed records into the step they failed in, once the data is fixed', async () => {
    const flowId = await env.createFlow({
      name: 'copy-amounts',
      steps: [
        {
          id: 'read',
          use: 'database.query',
          connection: 'pg',
          with: { sql: `SELECT id, amount FROM ${source} ORDER BY id` },
        },
        {
          id: 'write',
          use: 'database.write',
          connection: 'pg',
          onError: 'continue',
          with: { table: target },
        },
      ],
    });
    const job = await env.waitFor((await env.run(flowId)).id);
    expect(job).toMatchObject({ status: 'completed', errorCount: 7 });
    expect(job.stats.write).toMatchObject({ in: 1000, out: 993, errors: 7 });
    expect((await db.query(`SELECT count(*)::int AS n FROM ${target}`)).rows[0].n).toBe(993);

    const errors = await env.api.request<{ items: ErrorView[] }>(
      'GET',
      `/api/v1/jobs/${job.id}/errors?limit=100`,
    );
    expect(errors.body.items).toHaveLength(7);
    expect(errors.body.items.map((e) => e.record.id).sort((a, b) => a - b)).toEqual(BAD);
    expect(errors.body.items[0]).toMatchObject({
      stepId: 'write',
      status: 'open',
      record: { amount: -BAD[0] },
    });
    expect(errors.body.items[0].message).toMatch(/positive|check/i);

    // fix the data: negative amounts are allowed after all
    await db.query(`ALTER TABLE ${target} DROP CONSTRAINT ${target}_positive`);
    const retry = await env.api.request<{ jobs: JobView[] }>('POST', `/api/v1/jobs/${job.id}/retry-errors`, {
      body: {},
    });
    expect(retry.status).toBe(201);
    expect(retry.body.jobs).toHaveLength(1);
    const child = await env.waitFor(retry.body.jobs[0].id);
    expect(child).toMatchObject({ status: 'completed', parentJobId: job.id, errorCount: 0 });
    expect(child.stats.write).toMatchObject({ in: 7, out: 7, errors: 0 });
    expect(child.stats.read?.in ?? 0).toBe(0);

    const rows = await db.query<{ id: number; amount: number }>(
      `SELECT id, amount FROM ${target} WHERE amount < 0 ORDER BY id`,
    );
    expect(rows.rows).toEqual(BAD.map((id) => ({ id, amount: -id })));
    expect((await db.query(`SELECT count(*)::int AS n FROM ${target}`)).rows[0].n).toBe(1000);

    const after = await env.api.request<{ items: ErrorView[] }>(
      'GET',
      `/api/v1/jobs/${job.id}/errors?limit=100`,
    );
    expect(after.body.items.every((e) => e.retriedByJobId === child.id && e.status === 'resolved')).toBe(
      true,
    );
    const again = await env.api.request('POST', `/api/v1/jobs/${job.id}/retry-errors`, { body: {} });
    expect(again.status).toBe(400);
  }, 90_000);

  it('marks an error ignored, and refuses errors of another job by name', async () => {
    const flowId = await env.createFlow({
      name: 'all-bad',
      steps: [
        {
          id: 'read',
          use: 'database.query',
          connection: 'pg',
          with: { sql: 'SELECT 1 AS id, NULL::int AS amount' },
        },
        {
          id: 'write',
          use: 'database.write',
          connection: 'pg',
          onError: 'continue',
          with: { table: target },
        },
      ],
    });
    const job = await env.waitFor((await env.run(flowId)).id);
    expect(job.errorCount).toBe(1);
    const [error] = (await env.api.request<{ items: ErrorView[] }>('GET', `/api/v1/jobs/${job.id}/errors`))
      .body.items;
    const patched = await env.api.request<ErrorView>('PATCH', `/api/v1/jobs/${job.id}/errors/${error.id}`, {
      body: { status: 'ignored' },
    });
    expect(patched.body).toMatchObject({ id: error.id, status: 'ignored' });
    const stranger = '00000000-0000-4000-8000-000000000000';
    const res = await env.api.request<{ problems: Array<{ path: string; message: string }> }>(
      'POST',
      `/api/v1/jobs/${job.id}/retry-errors`,
      { body: { errorIds: [error.id, stranger] } },
    );
    expect(res.status).toBe(400);
    expect(res.body.problems).toEqual([
      { path: 'errorIds[0]', message: `error ${error.id} is not open` },
      { path: 'errorIds[1]', message: `job ${job.id} has no error ${stranger}` },
    ]);
  }, 60_000);
});
