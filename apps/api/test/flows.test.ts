import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, type ApiProcess } from './support/api-process.ts';

interface Flow {
  id: string;
  integrationId: string;
  name: string;
  enabled: boolean;
  version: number;
  versionId: string;
  definition: Record<string, unknown>;
}
interface ErrorBody {
  statusCode: number;
  message: string;
  problems?: { path: string; message: string }[];
}

const STANDALONE_ID = '00000000-0000-4000-8000-000000000001';
let api: ApiProcess;

function mapFlow(name: string, field = 'x'): Record<string, unknown> {
  return {
    name,
    steps: [{ id: 'shape', use: 'transform.map', with: { fields: { [field]: '{{ record.a }}' } } }],
  };
}

beforeAll(async () => {
  api = await startApi();
});

afterAll(async () => {
  await api?.stop();
});

describe('creating flows', () => {
  it('creates a flow from JSON in the "Standalone flows" integration when none is given', async () => {
    const res = await api.request<Flow>('POST', '/api/v1/flows', { body: mapFlow('from-json') });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      name: 'from-json',
      integrationId: STANDALONE_ID,
      enabled: true,
      version: 1,
      definition: mapFlow('from-json'),
    });
    expect(res.body.id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('creates a flow from YAML and exports the same file back, comments included', async () => {
    const yaml = [
      '# copies rows',
      'name: from-yaml',
      'steps:',
      '  - id: shape   # the only step',
      '    use: transform.map',
      '    with:',
      '      fields:',
      '        x: "{{ record.a }}"',
      '',
    ].join('\n');
    const res = await api.request<Flow>('POST', '/api/v1/flows', {
      raw: yaml,
      contentType: 'application/yaml',
    });
    expect(res.status).toBe(201);
    expect(res.body.definition).toEqual(mapFlow('from-yaml'));

    const exported = await api.request<string>('GET', `/api/v1/flows/${res.body.id}/export?format=yaml`);
    expect(exported.status).toBe(200);
    expect(exported.headers.get('content-type')).toMatch(/^application\/yaml/);
    expect(exported.headers.get('content-disposition')).toBe('attachment; filename="from-yaml.flow.yaml"');
    expect(exported.text).toBe(yaml);

    const asJson = await api.request<Record<string, unknown>>(
      'GET',
      `/api/v1/flows/${res.body.id}/export?format=json`,
    );
    expect(asJson.body).toEqual(mapFlow('from-yaml'));
  });

  it('exports a JSON flow as YAML', async () => {
    const created = await api.request<Flow>('POST', '/api/v1/flows', { body: mapFlow('json-to-yaml') });
    const exported = await api.request<string>('GET', `/api/v1/flows/${created.body.id}/export`);
    expect(parseYaml(exported.text)).toEqual(mapFlow('json-to-yaml'));
  });

  it('answers an invalid flow with 400 and every problem at its path', async () => {
    const res = await api.request<ErrorBody>('POST', '/api/v1/flows', {
      body: {
        name: 'bad',
        steps: [
          { id: 'a', use: 'nope.read', with: {} },
          { id: 'b', use: 'transform.map', with: { fields: { x: '{{ steps.zzz.output }}' } }, colour: 'red' },
        ],
      },
    });
    expect(res.status).toBe(400);
    expect(res.body.problems).toEqual(
      expect.arrayContaining([
        {
          path: 'steps[0].use',
          message: expect.stringMatching(/^unknown connector "nope" \(known: .*transform/),
        },
        { path: 'steps[1]', message: 'unknown field "colour"' },
        { path: 'steps[1].with.fields.x', message: 'refers to unknown step "zzz"' },
      ]),
    );
    expect(res.body.message).toMatch(/^invalid flow: /);
  });

  it('answers YAML that does not parse with 400 and the line', async () => {
    const res = await api.request<ErrorBody>('POST', '/api/v1/flows', {
      raw: 'name: x\nsteps: [\n',
      contentType: 'text/yaml',
    });
    expect(res.status).toBe(400);
    expect(res.body.message).toMatch(/^body is not a valid YAML flow: line \d+/);
  });

  it('refuses a second flow with the same name in the same integration, but not in another', async () => {
    await api.request('POST', '/api/v1/flows', { body: mapFlow('twice') });
    const again = await api.request<ErrorBody>('POST', '/api/v1/flows', { body: mapFlow('twice') });
    expect(again.status).toBe(409);
    expect(again.body.message).toBe('a flow named "twice" already exists in integration "Standalone flows"');

    const other = await api.request<{ id: string }>('POST', '/api/v1/integrations', {
      body: { name: 'Other' },
    });
    const elsewhere = await api.request<Flow>('POST', `/api/v1/flows?integrationId=${other.body.id}`, {
      body: mapFlow('twice'),
    });
    expect(elsewhere.status).toBe(201);
    expect(elsewhere.body.integrationId).toBe(other.body.id);
  });

  it('answers 404 for an integration that does not exist', async () => {
    const res = await api.request<ErrorBody>(
      'POST',
      '/api/v1/flows?integrationId=7d1e6f1a-0000-4000-8000-000000000000',
      {
        body: mapFlow('orphan'),
      },
    );
    expect(res.status).toBe(404);
    expect(res.body.message).toMatch(/integration 7d1e6f1a-.* not found/);
  });
});

describe('versions', () => {
  it('saves each PUT as a new version and never changes an old one', async () => {
    const created = await api.request<Flow>('POST', '/api/v1/flows', { body: mapFlow('versioned', 'first') });
    const updated = await api.request<Flow>('PUT', `/api/v1/flows/${created.body.id}`, {
      body: mapFlow('versioned-renamed', 'second'),
    });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ id: created.body.id, name: 'versioned-renamed', version: 2 });
    expect(updated.body.versionId).not.toBe(created.body.versionId);

    const current = await api.request<Flow>('GET', `/api/v1/flows/${created.body.id}`);
    expect(current.body.definition).toEqual(mapFlow('versioned-renamed', 'second'));

    const v1 = await api.request<{ definition: unknown; version: number }>(
      'GET',
      `/api/v1/flows/${created.body.id}/versions/1`,
    );
    expect(v1.body).toMatchObject({ version: 1, definition: mapFlow('versioned', 'first') });

    const list = await api.request<{ items: { version: number; name: string }[] }>(
      'GET',
      `/api/v1/flows/${created.body.id}/versions`,
    );
    expect(list.body.items.map((v) => [v.version, v.name])).toEqual([
      [2, 'versioned-renamed'],
      [1, 'versioned'],
    ]);
  });

  it('keeps the current version when a PUT is invalid', async () => {
    const created = await api.request<Flow>('POST', '/api/v1/flows', { body: mapFlow('stays') });
    const bad = await api.request('PUT', `/api/v1/flows/${created.body.id}`, {
      body: { name: 'stays', steps: [] },
    });
    expect(bad.status).toBe(400);
    const current = await api.request<Flow>('GET', `/api/v1/flows/${created.body.id}`);
    expect(current.body.version).toBe(1);
  });

  it('answers 404 for a version that does not exist', async () => {
    const created = await api.request<Flow>('POST', '/api/v1/flows', { body: mapFlow('one-version') });
    const res = await api.request<ErrorBody>('GET', `/api/v1/flows/${created.body.id}/versions/7`);
    expect(res.status).toBe(404);
    expect(res.body.message).toBe(`flow ${created.body.id} has no version 7`);
  });
});

describe('enabling, listing and deleting', () => {
  it('disables and enables a flow', async () => {
    const created = await api.request<Flow>('POST', '/api/v1/flows', { body: mapFlow('toggle') });
    const disabled = await api.request<Flow>('POST', `/api/v1/flows/${created.body.id}/disable`);
    expect(disabled.status).toBe(200);
    expect(disabled.body.enabled).toBe(false);
    const listed = await api.request<{ items: Flow[] }>('GET', '/api/v1/flows?enabled=false&name=toggle');
    expect(listed.body.items.map((f) => f.id)).toEqual([created.body.id]);
    // a disabled flow does not run, even in a process that ran it before
    const refused = await api.request<ErrorBody>('POST', `/api/v1/flows/${created.body.id}/run`, {
      body: {},
    });
    expect(refused.status).toBe(409);
    expect(refused.body.message).toBe(
      `flow "toggle" is disabled: enable it (POST /api/v1/flows/${created.body.id}/enable) to run it`,
    );
    const enabled = await api.request<Flow>('POST', `/api/v1/flows/${created.body.id}/enable`);
    expect(enabled.body.enabled).toBe(true);
    const run = await api.request<{ status: string }>('POST', `/api/v1/flows/${created.body.id}/run`, {
      body: {},
    });
    expect(run.status).toBe(201);
    await api.request('POST', `/api/v1/flows/${created.body.id}/disable`);
    const again = await api.request('POST', `/api/v1/flows/${created.body.id}/run`, { body: {} });
    expect(again.status).toBe(409);
  });

  it('pages through flows by name with a cursor, filtered by integration', async () => {
    const integration = await api.request<{ id: string }>('POST', '/api/v1/integrations', {
      body: { name: 'Paged' },
    });
    const names = ['p1', 'p2', 'p3', 'p4', 'p5'];
    for (const name of names)
      await api.request('POST', `/api/v1/flows?integrationId=${integration.body.id}`, {
        body: mapFlow(name),
      });
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = `integrationId=${integration.body.id}&limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const page = await api.request<{ items: Flow[]; nextCursor: string | null }>(
        'GET',
        `/api/v1/flows?${query}`,
      );
      expect(page.status).toBe(200);
      seen.push(...page.body.items.map((f) => f.name));
      cursor = page.body.nextCursor;
      pages += 1;
    } while (cursor !== null);
    expect(seen).toEqual(names);
    expect(pages).toBe(3);
  });

  it('deletes a flow with its versions', async () => {
    const created = await api.request<Flow>('POST', '/api/v1/flows', { body: mapFlow('doomed') });
    expect((await api.request('DELETE', `/api/v1/flows/${created.body.id}`)).status).toBe(204);
    expect((await api.request('GET', `/api/v1/flows/${created.body.id}`)).status).toBe(404);
    const rows = await api.query('SELECT 1 FROM flow_versions WHERE flow_id = $1', [created.body.id]);
    expect(rows).toEqual([]);
    expect((await api.request('DELETE', `/api/v1/flows/${created.body.id}`)).status).toBe(404);
  });

  it('refuses to delete a flow while a job of it is queued, and deletes it once the job ended', async () => {
    const created = await api.request<Flow>('POST', '/api/v1/flows', { body: mapFlow('busy') });
    // no worker runs here: the job stays queued
    const job = await api.request<{ id: string }>('POST', `/api/v1/flows/${created.body.id}/run`, {
      body: {},
    });
    expect(job.status).toBe(201);
    const refused = await api.request<ErrorBody>('DELETE', `/api/v1/flows/${created.body.id}`);
    expect(refused.status).toBe(409);
    expect(refused.body.message).toMatch(/has 1 job\(s\) queued or running: cancel them/);
    expect((await api.request('GET', `/api/v1/flows/${created.body.id}`)).status).toBe(200);
    // nor is a job retried before it ended: that would be a second run of it
    const retry = await api.request<ErrorBody>('POST', `/api/v1/jobs/${job.body.id}/retry`);
    expect(retry.status).toBe(409);
    expect(retry.body.message).toBe(
      `job ${job.body.id} is queued: retry it when it has finished (or cancel it first)`,
    );

    expect((await api.request('POST', `/api/v1/jobs/${job.body.id}/cancel`)).status).toBe(200);
    expect((await api.request('DELETE', `/api/v1/flows/${created.body.id}`)).status).toBe(204);
    expect(await api.query('SELECT 1 FROM jobs WHERE id = $1', [job.body.id])).toEqual([]);
  });
});
