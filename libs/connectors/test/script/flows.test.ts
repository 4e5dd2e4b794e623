import { describe, expect, it } from 'vitest';
import { eventsOf, runTestFlow } from '../support/run-test-flow.ts';

const people = [
  { name: 'ada', born: 1815 },
  { name: 'alan', born: 1912 },
  { name: 'grace', born: 1906 },
];

describe('script.run in a flow (runFlow, real registry)', () => {
  it('transforms records with params, logs to the step and passes the output on', async () => {
    const { result, events } = await runTestFlow(
      {
        params: { year: { type: 'integer', default: 1950 } },
        steps: [
          { id: 'parse', use: 'transform.parseJson' },
          {
            id: 'age',
            use: 'script.run',
            with: {
              code: [
                'const age = params.year - record.born;',
                'console.log("{{ not a template }}", record.name, age);',
                'if (age > 100) return null;',
                'return { name: record.name[0].toUpperCase() + record.name.slice(1), age };',
              ].join('\n'),
            },
          },
          { id: 'csv', use: 'transform.toCsv' },
        ],
      },
      { trigger: { payload: { body: JSON.stringify(people) } } },
    );
    expect(result.status).toBe('completed');
    expect(result.output).toEqual({ csv: 'name,age\nAlan,38\nGrace,44\n', count: 2 });
    expect(result.stats.age).toMatchObject({ in: 3, out: 2, ignored: 1 });
    const lines = eventsOf(events, 'step.log').filter((e) => e.stepId === 'age');
    expect(lines.map((l) => l.message)).toEqual([
      '{{ not a template }} ada 135',
      '{{ not a template }} alan 38',
      '{{ not a template }} grace 44',
    ]);
  });

  it('aggregates a page in perPage mode', async () => {
    const { result } = await runTestFlow(
      {
        steps: [
          { id: 'parse', use: 'transform.parseJson' },
          {
            id: 'stats',
            use: 'script.run',
            with: {
              mode: 'perPage',
              code: 'return [{ count: records.length, oldest: Math.min(...records.map((r) => r.born)) }];',
            },
          },
        ],
      },
      { trigger: { payload: { body: JSON.stringify(people) } } },
    );
    expect(result.output).toEqual({ count: 3, oldest: 1815 });
  });

  it('reports an infinite loop as a record error, then later steps and other runs work', async () => {
    const { result, events } = await runTestFlow(
      {
        steps: [
          { id: 'parse', use: 'transform.parseJson' },
          {
            id: 'spin',
            use: 'script.run',
            onError: 'continue',
            with: { timeoutMs: 200, code: 'if (record.name === "alan") { while (true) {} }\nreturn record;' },
          },
          { id: 'csv', use: 'transform.toCsv', with: { columns: ['name'] } },
        ],
      },
      { trigger: { payload: { body: JSON.stringify(people) } } },
    );
    expect(result.status).toBe('completed');
    expect(result.output).toEqual({ csv: 'name\nada\ngrace\n', count: 2 });
    expect(eventsOf(events, 'record.error')).toMatchObject([
      { stepId: 'spin', message: 'script timed out after 200 ms', record: people[1] },
    ]);
    const again = await runTestFlow(
      { steps: [{ id: 'ok', use: 'script.run', with: { code: 'return { fine: true };' } }] },
      { trigger: { payload: {} } },
    );
    expect(again.result).toMatchObject({ status: 'completed', output: { fine: true } });
  });

  it('fails the job on a syntax error, naming with.code and the position', async () => {
    const { result } = await runTestFlow(
      { steps: [{ id: 'bad', use: 'script.run', with: { code: 'return {\n  a: 1,,\n};' } }] },
      { trigger: { payload: {} } },
    );
    expect(result.status).toBe('failed');
    expect(result.error?.message).toMatch(
      /with\.code: syntax error at line 2, column 8: Unexpected token ','/,
    );
  });
});

describe('script.run code in flow validation', () => {
  it('does not parse {{ in code as a template, while other steps’ templates are still checked', async () => {
    const { validateFlow, catalogOf } = await import('@junction/flow');
    const { realRegistry } = await import('../support/run-test-flow.ts');
    const catalog = catalogOf(await realRegistry());
    const ok = validateFlow(
      {
        name: 'f',
        steps: [{ id: 's', use: 'script.run', with: { code: 'const t = "{{ a b c }}"; return { t };' } }],
      },
      { catalog },
    );
    expect(ok.problems).toEqual([]);
    const bad = validateFlow(
      { name: 'f', steps: [{ id: 'm', use: 'transform.map', with: { fields: { a: '{{ a b c }}' } } }] },
      { catalog },
    );
    expect(bad.problems).toEqual([
      { path: 'steps[0].with.fields.a', message: expect.stringMatching(/^invalid expression/) },
    ]);
  });
});
