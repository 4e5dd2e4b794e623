import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { parseFlowText, validateFlow, type ConnectorCatalog } from '@junction/flow';

const catalog: ConnectorCatalog = {
  connector: (id) =>
    id === 'database'
      ? {
          id: 'database',
          connection: z.object({ type: z.enum(['postgres', 'mysql']), url: z.string() }),
          operations: {
            query: {
              kind: 'source',
              input: z.strictObject({ sql: z.string(), pageSize: z.number().optional() }),
            },
          },
        }
      : undefined,
  connectorIds: () => ['database'],
};

function problemsOf(yaml: string): string[] {
  const loaded = parseFlowText(yaml);
  if (!loaded.ok) return loaded.problems.map((p) => `${p.path}: ${p.message}`);
  const r = validateFlow(loaded.value, { catalog });
  return r.ok ? [] : r.problems.map((p) => `${p.path}: ${p.message}`);
}

describe('validateFlow', () => {
  it('accepts a valid flow and applies defaults', () => {
    const loaded = parseFlowText(
      'name: copy\nsteps:\n  - id: read\n    use: database.query\n    connection: src\n    with: { sql: "select 1" }\n',
    );
    expect(loaded.ok).toBe(true);
    const r = validateFlow(loaded.ok ? loaded.value : null, { catalog });
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(r.flow.concurrency).toEqual({ max: 1, onBusy: 'queue' });
      expect(r.flow.steps[0]).toMatchObject({ id: 'read', onError: 'fail' });
    }
  });

  it('reports every problem at once with a path and a plain message', () => {
    const problems = problemsOf(`
name: bad
steps:
  - id: read
    use: database.query
    connection: src
    with: {}
  - id: read
    use: nope.run
  - id: map
    use: database.query
    connection: src
    with: { sql: "{{ steps.later.output }}" }
  - id: later
    use: database.query
    connection: src
    with: { sql: "{{ record.x + ( }}" }
`);
    expect(problems).toContain('steps[0].with.sql: required');
    expect(problems).toContain('steps[1].id: duplicate id "read" (first used at steps[0])');
    expect(problems).toContain('steps[1].use: unknown connector "nope" (known: database)');
    expect(problems).toContain(
      'steps[2].with.sql: refers to step "later", which does not run before this step',
    );
    expect(problems.some((p) => p.startsWith('steps[3].with.sql: invalid expression at position'))).toBe(
      true,
    );
  });

  it('names the missing connection and unknown fields', () => {
    const problems = problemsOf(
      'name: x\nsteps:\n  - { id: a, use: database.query, with: { sql: s }, colour: red }\n',
    );
    expect(problems).toContain('steps[0]: unknown field "colour"');
    expect(problems.some((p) => p.startsWith('steps[0].connection: required'))).toBe(true);
  });

  it('explains YAML syntax errors with a line and column', () => {
    const problems = problemsOf('name: x\nsteps: [\n');
    expect(problems[0]).toMatch(/line \d+, column \d+/);
  });
});

describe('template scope', () => {
  it('lets catch and finally see the try block, but not an else branch see its then branch', () => {
    const problems = problemsOf(`
name: scopes
steps:
  - id: guard
    try:
      - { id: a, use: database.query, connection: c, with: { sql: "select 1" } }
    catch:
      - { id: b, use: database.query, connection: c, with: { sql: "{{ steps.a.stats.out }}" } }
    finally:
      - { id: c, use: database.query, connection: c, with: { sql: "{{ steps.b.stats.out }}" } }
  - id: branch
    if: "{{ steps.guard.stats.out > 0 }}"
    then:
      - { id: t, use: database.query, connection: c, with: { sql: "select 1" } }
    else:
      - { id: e, use: database.query, connection: c, with: { sql: "{{ steps.t.output }}" } }
  - { id: after, use: database.query, connection: c, with: { sql: "{{ steps.t.output & steps.e.output }}" } }
`);
    expect(problems).toEqual([
      'steps[1].else[0].with.sql: refers to step "t", which does not run before this step',
    ]);
  });

  it('reports unknown parameters and steps referenced by templates', () => {
    const problems = problemsOf(`
name: refs
steps:
  - { id: a, use: database.query, connection: c, with: { sql: "{{ params.nope }} {{ steps.ghost.output }}" } }
`);
    expect(problems).toEqual([
      'steps[0].with.sql: refers to unknown parameter "nope"',
      'steps[0].with.sql: refers to unknown step "ghost"',
    ]);
  });

  it('accepts a flow given as JSON', () => {
    const loaded = parseFlowText(
      JSON.stringify({
        name: 'j',
        steps: [{ id: 'a', use: 'database.query', connection: 'c', with: { sql: 'x' } }],
      }),
    );
    expect(loaded.ok && validateFlow(loaded.value, { catalog }).ok).toBe(true);
  });
});
