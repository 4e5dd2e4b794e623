import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, type ApiProcess } from './support/api-process.ts';

interface Integration {
  id: string;
  name: string;
  description: string | null;
  settings: Record<string, unknown>;
  builtIn: boolean;
}
interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

const STANDALONE_ID = '00000000-0000-4000-8000-000000000001';
let api: ApiProcess;

beforeAll(async () => {
  api = await startApi();
});

afterAll(async () => {
  await api?.stop();
});

describe('integrations', () => {
  it('starts with the built-in "Standalone flows" integration', async () => {
    const res = await api.request<Page<Integration>>('GET', '/api/v1/integrations');
    expect(res.status).toBe(200);
    expect(res.body.items).toEqual([
      expect.objectContaining({ id: STANDALONE_ID, name: 'Standalone flows', builtIn: true }),
    ]);
  });

  it('creates, reads, updates and deletes an integration', async () => {
    const created = await api.request<Integration>('POST', '/api/v1/integrations', {
      body: { name: 'CRM sync', description: 'nightly', settings: { region: 'eu' } },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: 'CRM sync',
      description: 'nightly',
      settings: { region: 'eu' },
      builtIn: false,
    });

    const read = await api.request<Integration>('GET', `/api/v1/integrations/${created.body.id}`);
    expect(read.body).toEqual(created.body);

    const patched = await api.request<Integration>('PATCH', `/api/v1/integrations/${created.body.id}`, {
      body: { settings: { region: 'us' } },
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({
      name: 'CRM sync',
      description: 'nightly',
      settings: { region: 'us' },
    });

    const deleted = await api.request('DELETE', `/api/v1/integrations/${created.body.id}`);
    expect(deleted.status).toBe(204);
    const gone = await api.request<{ message: string }>('GET', `/api/v1/integrations/${created.body.id}`);
    expect(gone.status).toBe(404);
    expect(gone.body.message).toBe(`integration ${created.body.id} not found`);
  });

  it('refuses a second integration with the same name', async () => {
    await api.request('POST', '/api/v1/integrations', { body: { name: 'Billing' } });
    const again = await api.request<{ message: string }>('POST', '/api/v1/integrations', {
      body: { name: 'Billing' },
    });
    expect(again.status).toBe(409);
    expect(again.body.message).toBe('an integration named "Billing" already exists');
  });

  it('refuses to delete the built-in integration', async () => {
    const res = await api.request<{ message: string }>('DELETE', `/api/v1/integrations/${STANDALONE_ID}`);
    expect(res.status).toBe(409);
    expect(res.body.message).toMatch(/built-in "Standalone flows" integration cannot be deleted/);
  });

  it('refuses to delete an integration that still has flows', async () => {
    const integration = await api.request<Integration>('POST', '/api/v1/integrations', {
      body: { name: 'Busy' },
    });
    const flow = await api.request('POST', `/api/v1/flows?integrationId=${integration.body.id}`, {
      body: {
        name: 'f',
        steps: [{ id: 'a', use: 'transform.map', with: { fields: { x: '{{ record.a }}' } } }],
      },
    });
    expect(flow.status).toBe(201);
    const res = await api.request<{ message: string }>(
      'DELETE',
      `/api/v1/integrations/${integration.body.id}`,
    );
    expect(res.status).toBe(409);
    expect(res.body.message).toMatch(/still has 1 flow\(s\) and 0 connection\(s\)/);
  });

  it('pages through integrations by name and filters by name', async () => {
    for (const name of ['page-a', 'page-b', 'page-c'])
      await api.request('POST', '/api/v1/integrations', { body: { name } });
    const first = await api.request<Page<Integration>>('GET', '/api/v1/integrations?name=PAGE-&limit=2');
    expect(first.body.items.map((i) => i.name)).toEqual(['page-a', 'page-b']);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const second = await api.request<Page<Integration>>(
      'GET',
      `/api/v1/integrations?name=page-&limit=2&cursor=${first.body.nextCursor}`,
    );
    expect(second.body).toEqual({ items: [expect.objectContaining({ name: 'page-c' })], nextCursor: null });
    // % and _ in the filter are matched as themselves, not as LIKE wildcards
    for (const name of ['100%_sure', '100 percent sure'])
      await api.request('POST', '/api/v1/integrations', { body: { name } });
    const literal = await api.request<Page<Integration>>(
      'GET',
      `/api/v1/integrations?name=${encodeURIComponent('0%_s')}`,
    );
    expect(literal.body.items.map((i) => i.name)).toEqual(['100%_sure']);
  });
});
