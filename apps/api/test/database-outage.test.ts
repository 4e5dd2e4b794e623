import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PG_SERVER, startApi, type ApiProcess } from './support/api-process.ts';

// The API's database stops taking connections (maintenance, a restart): requests are answered
// 503 and /ready says so; once it is back, the API serves again without a restart.

let api: ApiProcess;
let admin: pg.Client;
let database: string;

beforeAll(async () => {
  api = await startApi();
  database = new URL(api.env.DATABASE_URL).pathname.slice(1);
  admin = new pg.Client({ connectionString: `${PG_SERVER}/postgres` });
  await admin.connect();
});

afterAll(async () => {
  await admin?.query(`ALTER DATABASE ${database} ALLOW_CONNECTIONS true`).catch(() => undefined);
  await admin?.end();
  await api?.stop();
});

describe('a database outage', () => {
  it('answers 503 while PostgreSQL refuses connections, and recovers by itself', async () => {
    expect((await api.request('GET', '/api/v1/integrations')).status).toBe(200);
    await admin.query(`ALTER DATABASE ${database} ALLOW_CONNECTIONS false`);
    await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1`, [
      database,
    ]);

    const during = await api.request<{ statusCode: number; message: string }>('GET', '/api/v1/integrations');
    expect(during.status).toBe(503);
    expect(during.body.message).toBe('the database is unavailable; try again');
    const ready = await api.request<{ ready: boolean }>('GET', '/ready');
    expect(ready.status).toBe(503);

    await admin.query(`ALTER DATABASE ${database} ALLOW_CONNECTIONS true`);
    const end = Date.now() + 10_000;
    let after = await api.request('GET', '/api/v1/integrations');
    while (after.status !== 200 && Date.now() < end) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      after = await api.request('GET', '/api/v1/integrations');
    }
    expect(after.status).toBe(200);
  });
});
