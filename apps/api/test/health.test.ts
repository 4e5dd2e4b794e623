import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startApi, type ApiProcess } from './support/api-process.ts';

let api: ApiProcess;

beforeAll(async () => {
  api = await startApi();
});

afterAll(async () => {
  await api?.stop();
});

describe('health, readiness, metrics and docs', () => {
  it('answers /health while the process runs', async () => {
    const res = await api.request('GET', '/health', { token: null });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok' });
  });

  it('is ready when PostgreSQL and Redis answer', async () => {
    const res = await api.request<{ status: string; checks: Record<string, { ok: boolean }> }>(
      'GET',
      '/ready',
      {
        token: null,
      },
    );
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('ready');
    expect(res.body.checks.database.ok).toBe(true);
    expect(res.body.checks.redis.ok).toBe(true);
  });

  it('serves Prometheus metrics: process defaults and HTTP requests by route pattern', async () => {
    await api.request('GET', '/api/v1/flows/00000000-0000-4000-8000-00000000abcd');
    const res = await api.request<string>('GET', '/metrics', { token: null });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(res.text).toMatch(/^process_cpu_user_seconds_total\{service="junction-api"\} /m);
    expect(res.text).toMatch(
      /junction_http_request_duration_seconds_count\{service="junction-api",method="GET",route="\/api\/v1\/flows\/:id",status="404"\} 1/,
    );
  });

  it('publishes the OpenAPI document and the Swagger UI', async () => {
    const doc = await api.request<{
      openapi: string;
      paths: Record<string, unknown>;
      components: { securitySchemes: object; schemas: Record<string, unknown> };
    }>('GET', '/docs/openapi.json', { token: null });
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/auth/token',
        '/api/v1/integrations',
        '/api/v1/flows',
        '/api/v1/flows/{id}/versions',
        '/api/v1/flows/{id}/export',
        '/api/v1/connections/{id}/test',
      ]),
    );
    expect(doc.body.components.securitySchemes).toHaveProperty('bearer');
    // a body validated by its zod schema is documented by its class like the others
    expect(doc.body.components).toMatchObject({
      schemas: { RunFlowBody: { type: 'object', properties: { params: { type: 'object' } } } },
    });
    const ui = await api.request<string>('GET', '/docs', { token: null });
    expect(ui.status).toBe(200);
    expect(ui.text).toContain('swagger');
  });
});

describe('readiness without Redis', () => {
  it('answers 503 naming Redis while staying alive', async () => {
    const closed = await freePort();
    const degraded = await startApi({
      env: { REDIS_URL: `redis://127.0.0.1:${closed}` },
      noToken: true,
      timeoutMs: 40_000,
    });
    try {
      const ready = await degraded.request<{
        status: string;
        checks: Record<string, { ok: boolean; message?: string }>;
      }>('GET', '/ready', { token: null });
      expect(ready.status).toBe(503);
      expect(ready.body.status).toBe('not ready');
      expect(ready.body.checks.database.ok).toBe(true);
      expect(ready.body.checks.redis).toMatchObject({
        ok: false,
        message: expect.stringMatching(/^Redis unreachable: /),
      });
      expect((await degraded.request('GET', '/health', { token: null })).status).toBe(200);
    } finally {
      await degraded.stop();
    }
  }, 60_000);
});
