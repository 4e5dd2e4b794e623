import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, type ApiProcess } from './support/api-process.ts';

interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
  problems?: { path: string; message: string }[];
}

let api: ApiProcess;

beforeAll(async () => {
  api = await startApi();
});

afterAll(async () => {
  await api?.stop();
});

describe('bad input gets a clear 4xx, never a 500', () => {
  it('answers malformed JSON with 400 and what the parser saw', async () => {
    const res = await api.request<ErrorBody>('POST', '/api/v1/integrations', { raw: '{"name": "x",' });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
    expect(res.body.message).toMatch(/^body is not valid JSON: .*position/);
  });

  it('names unknown fields', async () => {
    const res = await api.request<ErrorBody>('POST', '/api/v1/integrations', {
      body: { name: 'x', colour: 'red', owner: 'me' },
    });
    expect(res.status).toBe(400);
    expect(res.body.problems).toEqual(
      expect.arrayContaining([
        { path: 'colour', message: 'unknown field' },
        { path: 'owner', message: 'unknown field' },
      ]),
    );
  });

  it('checks a run request (validated by its zod schema) in the same words', async () => {
    const flow = await api.request<{ id: string }>('POST', '/api/v1/flows', {
      body: { name: 'run-body', steps: [{ id: 'a', use: 'transform.map', with: { keep: true } }] },
    });
    const run = (body: unknown) =>
      api.request<ErrorBody>('POST', `/api/v1/flows/${flow.body.id}/run`, { body });
    const unknown = await run({ params: {}, priority: 1, when: 'now' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.problems).toEqual([
      { path: 'priority', message: 'unknown field' },
      { path: 'when', message: 'unknown field' },
    ]);
    for (const params of ['n=1', [1], null, 3]) {
      const res = await run({ params });
      expect(res.status, JSON.stringify(params)).toBe(400);
      expect(res.body.problems).toEqual([{ path: 'params', message: 'must be an object' }]);
    }
    expect((await run([{ params: {} }])).body.problems).toEqual([
      { path: '', message: 'body must be a JSON object, got an array' },
    ]);
    // PostgreSQL cannot store a NUL character: refused at the door, on any route
    const nul = await api.request<ErrorBody>('POST', `/api/v1/flows/${flow.body.id}/run`, {
      raw: '{"params": {"tags": ["ok", "a\\u0000b"]}}',
    });
    expect(nul.status).toBe(400);
    expect(nul.body.message).toBe(
      'params.tags[1] contains a NUL character (\\u0000), which cannot be stored',
    );
    const named = await api.request<ErrorBody>('POST', '/api/v1/integrations', { raw: '{"n\\u0000": 1}' });
    expect(named.body.message).toBe('n\\u0000 contains a NUL character (\\u0000), which cannot be stored');
    // nor half a character in JSON (an unpaired UTF-16 surrogate); a whole emoji written as its pair is fine
    const half = await api.request<ErrorBody>('POST', `/api/v1/flows/${flow.body.id}/run`, {
      raw: '{"params": {"note": "cut \\ud83d"}}',
    });
    expect(half.status).toBe(400);
    expect(half.body.message).toBe(
      'params.note contains an unpaired UTF-16 surrogate (half a character), which cannot be stored',
    );
    const halfKey = await api.request<ErrorBody>('POST', '/api/v1/integrations', { raw: '{"k\\uDC00": 1}' });
    expect(halfKey.body.message).toBe(
      'k\\udc00 contains an unpaired UTF-16 surrogate (half a character), which cannot be stored',
    );
    const emoji = await api.request<{ name: string }>('POST', '/api/v1/integrations', {
      raw: '{"name": "smile \\ud83d\\ude00"}',
    });
    expect(emoji.status).toBe(201);
    expect(emoji.body.name).toBe('smile \u{1f600}');
    // a YAML flow gets the same check: its escapes can make both
    for (const [name, problem] of [
      ['"nul\\0here"', 'a NUL character (\\u0000)'],
      ['"cut \\ud83d"', 'an unpaired UTF-16 surrogate (half a character)'],
    ]) {
      const yaml = await api.request<ErrorBody & { problems: unknown }>('POST', '/api/v1/flows', {
        raw: `name: ${name}\nsteps:\n  - id: a\n    use: transform.map\n    with: { keep: true }\n`,
        contentType: 'application/yaml',
      });
      expect(yaml.status, JSON.stringify(yaml.body)).toBe(400);
      expect(yaml.body.problems).toEqual([
        { path: 'name', message: `contains ${problem}, which cannot be stored` },
      ]);
    }
    // a backslash followed by u0000 is text like any other
    const literal = await api.request<{ name: string }>('POST', '/api/v1/integrations', {
      raw: '{"name": "back\\\\u0000slash"}',
    });
    expect(literal.status).toBe(201);
    expect(literal.body.name).toBe('back\\u0000slash');
    expect((await run({})).status).toBe(201);
  });

  it('names fields of the wrong type, once each', async () => {
    const res = await api.request<ErrorBody>('POST', '/api/v1/integrations', {
      body: { name: 42, settings: 'x' },
    });
    expect(res.status).toBe(400);
    expect(res.body.problems).toEqual([
      { path: 'name', message: 'must be a string' },
      { path: 'settings', message: 'must be an object' },
    ]);
    expect(res.body.message).toBe('invalid request: name: must be a string; settings: must be an object');
  });

  it('answers a body that is not an object', async () => {
    for (const raw of ['[1, 2]', '"text"', 'null', '7']) {
      const res = await api.request<ErrorBody>('POST', '/api/v1/integrations', { raw });
      expect(res.status, raw).toBe(400);
      expect(res.body.message, raw).toMatch(/body must be a JSON object|a JSON object body is required/);
    }
    const flow = await api.request<ErrorBody>('POST', '/api/v1/flows', { raw: '[1]' });
    expect(flow.status).toBe(400);
    expect(flow.body.message).toMatch(/expected a flow object/);
  });

  it('refuses an empty JSON body and a missing body', async () => {
    const empty = await api.request<ErrorBody>('POST', '/api/v1/integrations', { raw: '' });
    expect(empty.status).toBe(400);
    expect(empty.body.message).toBe('body is empty but content-type is application/json');
    const missing = await api.request<ErrorBody>('POST', '/api/v1/integrations');
    expect(missing.status).toBe(400);
    expect(missing.body.message).toMatch(/a JSON object body is required/);
  });

  it('answers an oversized body with 413', async () => {
    const res = await api.request<ErrorBody>('POST', '/api/v1/integrations', {
      body: { name: 'big', description: 'x'.repeat(1_100_000) },
    });
    expect(res.status).toBe(413);
    expect(res.body.message).toMatch(/larger than the limit/);
  });

  it('answers an unsupported content type with 415', async () => {
    const res = await api.request<ErrorBody>('POST', '/api/v1/integrations', {
      raw: '<name>x</name>',
      contentType: 'application/xml',
    });
    expect(res.status).toBe(415);
    expect(res.body.message).toMatch(/unsupported content-type/);
  });

  it('refuses prototype-poisoning keys', async () => {
    const res = await api.request<ErrorBody>('POST', '/api/v1/integrations', {
      raw: '{"name": "x", "__proto__": {"admin": true}}',
    });
    expect(res.status).toBe(400);
    expect(res.body.message).toMatch(/forbidden prototype property/);
  });

  it('answers an id that is not a UUID with 400 naming it, and a missing one with 404', async () => {
    for (const path of [
      '/api/v1/flows/42',
      '/api/v1/integrations/abc',
      "/api/v1/connections/1'%20OR%201=1",
    ]) {
      const res = await api.request<ErrorBody>('GET', path);
      expect(res.status, path).toBe(400);
      expect(res.body.problems, path).toEqual([{ path: 'id', message: 'expected a UUID' }]);
    }
    const missing = await api.request<ErrorBody>('GET', '/api/v1/flows/3f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f');
    expect(missing.status).toBe(404);
    expect(missing.body.message).toBe('flow 3f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f not found');
  });

  it('checks query parameters like bodies', async () => {
    const res = await api.request<ErrorBody>(
      'GET',
      '/api/v1/flows?limit=0&enabled=maybe&integrationId=x&sort=name',
    );
    expect(res.status).toBe(400);
    expect(res.body.problems?.map((p) => p.path).sort()).toEqual([
      'enabled',
      'integrationId',
      'limit',
      'sort',
    ]);
    const cursor = await api.request<ErrorBody>('GET', '/api/v1/flows?cursor=not-a-cursor');
    expect(cursor.status).toBe(400);
    expect(cursor.body.problems).toEqual([
      { path: 'cursor', message: expect.stringMatching(/not a cursor/) },
    ]);
  });

  it('answers unknown routes with 404', async () => {
    const res = await api.request<ErrorBody>('GET', '/api/v1/nothing-here');
    expect(res.status).toBe(404);
  });

  it('survives a batch of odd bodies on every write route without a 500', async () => {
    const flow = await api.request<{ id: string }>('POST', '/api/v1/flows', {
      body: {
        name: 'target',
        steps: [{ id: 'a', use: 'transform.map', with: { fields: { x: '{{ a }}' } } }],
      },
    });
    const routes: [string, string][] = [
      ['POST', '/api/v1/integrations'],
      ['PATCH', '/api/v1/integrations/00000000-0000-4000-8000-000000000001'],
      ['POST', '/api/v1/flows'],
      ['PUT', `/api/v1/flows/${flow.body.id}`],
      ['POST', '/api/v1/connections'],
      ['POST', '/api/v1/auth/token'],
    ];
    const bodies = [
      '{}',
      '{"name": "x", "description": null, "settings": null}',
      '{"name": null}',
      '{"name": {"$gt": ""}}',
      '{"name": "' + 'n'.repeat(5000) + '"}',
      '{"name": "x", "steps": "all", "config": [], "type": 1}',
      '{"name": "x", "steps": [{"id": "1", "use": "."}], "settings": {"pageSize": -1}}',
      '{"email": "a@b.c", "password": ""}',
      '\u0000',
    ];
    for (const [method, path] of routes) {
      for (const raw of bodies) {
        const res = await api.request(method, path, { raw });
        expect(res.status, `${method} ${path} ${raw.slice(0, 60)}`).toBeLessThan(500);
      }
    }
    // a PATCH that sends null is refused, not written into a NOT NULL column
    const patch = await api.request<ErrorBody>(
      'PATCH',
      '/api/v1/integrations/00000000-0000-4000-8000-000000000001',
      {
        body: { settings: null },
      },
    );
    expect(patch.status).toBe(400);
    expect(patch.body.problems).toEqual([{ path: 'settings', message: 'must be an object' }]);
    expect(api.output()).not.toContain('"level":50');
  });
});
