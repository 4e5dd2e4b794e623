import { decryptSecret, parseSecretKey } from '@junction/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startApi, type ApiProcess } from './support/api-process.ts';

interface Connection {
  id: string;
  name: string;
  type: string;
  integrationId: string;
  config: Record<string, unknown>;
  secretFields: string[];
}
interface ErrorBody {
  message: string;
  problems?: { path: string; message: string }[];
}

const PASSWORD = 'pg-Secret-4c1b9e';
let api: ApiProcess;

function pgConfig(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { host: '127.0.0.1', port: 5432, user: 'postgres', password: PASSWORD, database: 'test', ...extra };
}

beforeAll(async () => {
  api = await startApi();
});

afterAll(async () => {
  await api?.stop();
});

describe('connections', () => {
  it('encrypts secret fields at rest and masks them on every read', async () => {
    const created = await api.request<Connection>('POST', '/api/v1/connections', {
      body: { name: 'warehouse', type: 'postgres', config: pgConfig() },
    });
    expect(created.status).toBe(201);
    expect(created.body.config).toEqual({ ...pgConfig(), password: '********' });
    expect(created.body.secretFields).toEqual(['password']);
    expect(created.text).not.toContain(PASSWORD);

    const [row] = await api.query<{ config: unknown; secrets: string }>(
      'SELECT config, secrets FROM connections WHERE id = $1',
      [created.body.id],
    );
    expect(JSON.stringify(row)).not.toContain(PASSWORD);
    expect(row.config).toEqual({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test' });
    // readable with the key the API was given, and only with it
    expect(JSON.parse(decryptSecret(row.secrets, parseSecretKey(api.secretKey)))).toEqual({
      password: PASSWORD,
    });

    const read = await api.request<Connection>('GET', `/api/v1/connections/${created.body.id}`);
    const listed = await api.request<{ items: Connection[] }>('GET', '/api/v1/connections?name=warehouse');
    for (const text of [read.text, listed.text]) expect(text).not.toContain(PASSWORD);
    expect(read.body.config.password).toBe('********');
  });

  it('keeps the stored secret when an update sends the mask, and replaces it when it sends a value', async () => {
    const created = await api.request<Connection>('POST', '/api/v1/connections', {
      body: { name: 'keeper', type: 'postgres', config: pgConfig() },
    });
    const kept = await api.request<Connection>('PUT', `/api/v1/connections/${created.body.id}`, {
      body: {
        name: 'keeper',
        type: 'postgres',
        config: pgConfig({ password: '********', database: 'postgres' }),
      },
    });
    expect(kept.status).toBe(200);
    expect(kept.body.config.database).toBe('postgres');
    const secrets = async (): Promise<unknown> => {
      const [row] = await api.query<{ secrets: string }>('SELECT secrets FROM connections WHERE id = $1', [
        created.body.id,
      ]);
      return JSON.parse(decryptSecret(row.secrets, parseSecretKey(api.secretKey)));
    };
    expect(await secrets()).toEqual({ password: PASSWORD });

    await api.request('PUT', `/api/v1/connections/${created.body.id}`, {
      body: { name: 'keeper', type: 'postgres', config: pgConfig({ password: 'new-one' }) },
    });
    expect(await secrets()).toEqual({ password: 'new-one' });
  });

  it('refuses the mask when there is no stored secret to keep', async () => {
    const res = await api.request<ErrorBody>('POST', '/api/v1/connections', {
      body: { name: 'masked', type: 'postgres', config: pgConfig({ password: '********' }) },
    });
    expect(res.status).toBe(400);
    expect(res.body.problems).toEqual([
      { path: 'config.password', message: expect.stringMatching(/keeps a stored secret/) },
    ]);
  });

  it("validates the config against the connector's schema, naming each field", async () => {
    const res = await api.request<ErrorBody>('POST', '/api/v1/connections', {
      body: { name: 'broken', type: 'postgres', config: { host: '127.0.0.1', port: 'five', colour: 'red' } },
    });
    expect(res.status).toBe(400);
    expect(res.body.problems).toEqual(
      expect.arrayContaining([
        { path: 'config.port', message: 'expected number, got string' },
        { path: 'config', message: 'unknown field "colour"' },
      ]),
    );
  });

  it('refuses an unknown connection type, listing the known ones', async () => {
    const res = await api.request<ErrorBody>('POST', '/api/v1/connections', {
      body: { name: 'oracle', type: 'oracle', config: {} },
    });
    expect(res.status).toBe(400);
    expect(res.body.problems).toEqual([
      {
        path: 'type',
        message: expect.stringMatching(/unknown connection type "oracle" \(known: .*postgres/),
      },
    ]);
  });

  it('refuses a second connection with the same name in an integration', async () => {
    await api.request('POST', '/api/v1/connections', {
      body: { name: 'dup', type: 'postgres', config: pgConfig() },
    });
    const res = await api.request<ErrorBody>('POST', '/api/v1/connections', {
      body: { name: 'dup', type: 'postgres', config: pgConfig() },
    });
    expect(res.status).toBe(409);
    expect(res.body.message).toBe(
      'a connection named "dup" already exists in integration "Standalone flows"',
    );
  });

  it('tests a connection against the real PostgreSQL', async () => {
    const created = await api.request<Connection>('POST', '/api/v1/connections', {
      body: { name: 'live', type: 'postgres', config: pgConfig() },
    });
    const res = await api.request<{ ok: boolean; message: string; durationMs: number }>(
      'POST',
      `/api/v1/connections/${created.body.id}/test`,
    );
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ ok: true, message: 'connected' });
    expect(res.body.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('reports a closed port as ok: false with the reason, not as an error', async () => {
    const port = await freePort();
    const created = await api.request<Connection>('POST', '/api/v1/connections', {
      body: { name: 'closed', type: 'postgres', config: pgConfig({ port }) },
    });
    const res = await api.request<{ ok: boolean; message: string }>(
      'POST',
      `/api/v1/connections/${created.body.id}/test`,
    );
    expect(res.status).toBe(200);
    expect(res.body.ok).toBe(false);
    expect(res.body.message).toMatch(new RegExp(`cannot connect: .*127\\.0\\.0\\.1:${port}.*refused`, 'i'));
    expect(res.body.message).not.toContain(PASSWORD);
  });

  it('deletes a connection', async () => {
    const created = await api.request<Connection>('POST', '/api/v1/connections', {
      body: { name: 'gone', type: 'postgres', config: pgConfig() },
    });
    expect((await api.request('DELETE', `/api/v1/connections/${created.body.id}`)).status).toBe(204);
    expect((await api.request('GET', `/api/v1/connections/${created.body.id}`)).status).toBe(404);
  });
});
