import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_EMAIL, ADMIN_PASSWORD, startApi, type ApiProcess } from './support/api-process.ts';

let api: ApiProcess;

beforeAll(async () => {
  api = await startApi();
});

afterAll(async () => {
  await api?.stop();
});

describe('authentication', () => {
  it('refuses /api/v1 routes without a token, saying how to get one', async () => {
    const res = await api.request<{ message: string }>('GET', '/api/v1/flows', { token: null });
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ statusCode: 401, error: 'Unauthorized' });
    expect(res.body.message).toMatch(/missing bearer token.*POST \/api\/v1\/auth\/token/);
  });

  it('refuses a malformed Authorization header and a forged token', async () => {
    const basic = await api.request<{ message: string }>('GET', '/api/v1/integrations', {
      token: null,
      headers: { authorization: 'Basic YWRtaW46YWRtaW4=' },
    });
    expect(basic.status).toBe(401);
    expect(basic.body.message).toMatch(/expected "Bearer <token>"/);

    const [header, payload] = api.token.split('.');
    const forged = await api.request<{ message: string }>('GET', '/api/v1/integrations', {
      token: `${header}.${payload}.c2lnbmF0dXJl`,
    });
    expect(forged.status).toBe(401);
    expect(forged.body.message).toBe('invalid bearer token');
  });

  it('issues a bearer token for the admin created at first start, and accepts it', async () => {
    const res = await api.request<{ accessToken: string; tokenType: string; expiresIn: number }>(
      'POST',
      '/api/v1/auth/token',
      { body: { email: ADMIN_EMAIL.toUpperCase(), password: ADMIN_PASSWORD }, token: null },
    );
    expect(res.status).toBe(200);
    expect(res.body.tokenType).toBe('Bearer');
    expect(res.body.expiresIn).toBe(3600);
    const list = await api.request('GET', '/api/v1/integrations', { token: res.body.accessToken });
    expect(list.status).toBe(200);
  });

  it('takes ?access_token= on the live events stream only (EventSource sends no headers), never logging it', async () => {
    const missingJob = '00000000-0000-4000-8000-000000000000';
    const events = await api.request<{ message: string }>(
      'GET',
      `/api/v1/jobs/${missingJob}/events?access_token=${api.token}`,
      { token: null },
    );
    // past authentication: the job does not exist
    expect(events.status).toBe(404);

    const elsewhere = await api.request('GET', `/api/v1/flows?access_token=${api.token}`, { token: null });
    expect(elsewhere.status).toBe(401);
    const forged = await api.request<{ message: string }>(
      'GET',
      `/api/v1/jobs/${missingJob}/events?access_token=${api.token.slice(0, -4)}AAAA`,
      { token: null },
    );
    expect(forged.status).toBe(401);
    expect(forged.body.message).toBe('invalid bearer token');

    // the 4xx answers above are logged (as warnings) with the token masked
    for (let i = 0; i < 50 && !api.output().includes('access_token=[redacted]'); i++)
      await new Promise((resolve) => setTimeout(resolve, 100));
    expect(api.output()).toContain('access_token=[redacted]');
    expect(api.output()).not.toContain(api.token);
  });

  it('answers the same 401 for a wrong password and an unknown email', async () => {
    const wrong = await api.request('POST', '/api/v1/auth/token', {
      body: { email: ADMIN_EMAIL, password: 'not it' },
      token: null,
    });
    const unknown = await api.request('POST', '/api/v1/auth/token', {
      body: { email: 'nobody@example.test', password: 'not it' },
      token: null,
    });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.body).toEqual(unknown.body);
    expect(wrong.body).toMatchObject({ message: 'wrong email or password' });
  });

  it('stores the password as a scrypt hash, never in clear', async () => {
    const rows = await api.query<{ email: string; password_hash: string }>(
      'SELECT email, password_hash FROM users',
    );
    expect(rows).toHaveLength(1);
    expect(rows[0].email).toBe(ADMIN_EMAIL);
    expect(rows[0].password_hash).toMatch(/^scrypt\$/);
    expect(rows[0].password_hash).not.toContain(ADMIN_PASSWORD);
  });

  it('keeps health, readiness, metrics and the API document public', async () => {
    for (const path of ['/health', '/ready', '/metrics', '/docs/openapi.json']) {
      const res = await api.request('GET', path, { token: null });
      expect(res.status, path).toBe(200);
    }
  });
});

describe('first start without a configured password', () => {
  it('generates the admin password and prints it once to stdout', async () => {
    const generated = await startApi({ env: { JUNCTION_ADMIN_PASSWORD: '' }, noToken: true });
    try {
      const match = /password: (\S+)/.exec(generated.output());
      expect(match, generated.output()).not.toBeNull();
      const res = await generated.request('POST', '/api/v1/auth/token', {
        body: { email: ADMIN_EMAIL, password: match![1] },
        token: null,
      });
      expect(res.status).toBe(200);
    } finally {
      await generated.stop();
    }
  });
});
