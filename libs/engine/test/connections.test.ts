import { describe, expect, it } from 'vitest';
import { harness } from './support/test-connectors.ts';

describe('connections', () => {
  it('resolves a named connection once per run and parses it with the connector’s schema', async () => {
    const h = harness();
    const flow = h.flow({
      steps: [
        { id: 'src', use: 'test.count', with: { count: 3 } },
        { id: 'who', use: 'fakedb.whoami', connection: 'main' },
      ],
    });
    const lookups: string[] = [];
    const { result } = await h.run(flow, {
      connections: async (name) => {
        lookups.push(name);
        return { type: 'otherdb', host: 'db.internal' };
      },
    });
    expect(result.status).toBe('completed');
    expect(result.output).toEqual({ host: 'db.internal', port: 1, type: 'otherdb', pool: 1 });
    expect(lookups).toEqual(['main']);
  });

  it('evaluates templates in an inline connection', async () => {
    const h = harness();
    const flow = h.flow({
      params: { host: { type: 'string', default: 'from-param' } },
      steps: [
        {
          id: 'who',
          use: 'fakedb.whoami',
          connection: { type: 'fakedb', host: '{{ params.host }}', port: 5 },
        },
      ],
    });
    const { result } = await h.run(flow);
    expect(result.output).toMatchObject({ host: 'from-param', port: 5 });
  });

  it('refuses a connection of a type the connector does not accept, naming the step', async () => {
    const h = harness();
    const flow = h.flow({ steps: [{ id: 'who', use: 'fakedb.whoami', connection: 'main' }] });
    const { result } = await h.run(flow, { connections: async () => ({ type: 'redis', host: 'x' }) });
    expect(result.status).toBe('failed');
    expect(result.error).toEqual({
      stepId: 'who',
      type: 'ConfigError',
      message:
        'steps[0].connection: connection "main" has type "redis"; "fakedb" accepts "fakedb", "otherdb"',
    });
  });

  it('names the bad field of a connection without quoting its values', async () => {
    const h = harness();
    const flow = h.flow({
      params: { port: { type: 'string', default: 'secret-ish' } },
      steps: [
        {
          id: 'who',
          use: 'fakedb.whoami',
          connection: { type: 'fakedb', host: 'h', port: '{{ params.port }}' },
        },
      ],
    });
    const { result } = await h.run(flow);
    expect(result.error?.message).toBe('steps[0].connection.port: expected number, got string');
  });

  it('says when a named connection cannot be found', async () => {
    const h = harness();
    const flow = h.flow({ steps: [{ id: 'who', use: 'fakedb.whoami', connection: 'missing' }] });
    const { result } = await h.run(flow, {
      connections: async (name) => {
        throw new Error(`no connection named "${name}"`);
      },
    });
    expect(result.error).toMatchObject({
      stepId: 'who',
      message: 'steps[0].connection: connection "missing": no connection named "missing"',
    });
  });
});
