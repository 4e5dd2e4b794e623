import { describe, expect, it } from 'vitest';
import { resolveParams, type ParamSpec } from '@junction/flow';

const specs: Record<string, ParamSpec> = {
  since: { type: 'date', required: true },
  limit: { type: 'integer', required: false, default: 100 },
  ratio: { type: 'number', required: false },
  dry: { type: 'boolean', required: false, default: false },
  filter: { type: 'json', required: false },
  label: { type: 'string', required: false },
};

describe('resolveParams', () => {
  it('coerces strings from a command line to the declared types and applies defaults', () => {
    const r = resolveParams(specs, {
      since: '2026-01-31',
      ratio: '0.5',
      dry: 'true',
      filter: '{"a":1}',
      label: 7,
    });
    expect(r.problems).toEqual([]);
    expect(r.values).toEqual({
      since: '2026-01-31',
      limit: 100,
      ratio: 0.5,
      dry: true,
      filter: { a: 1 },
      label: '7',
    });
  });

  it('reports every bad parameter at once, naming it and what was expected', () => {
    const r = resolveParams(specs, { limit: '12.5', ratio: 'abc', dry: 'maybe', filter: '{oops', extra: 1 });
    const messages = r.problems.map((p) => `${p.path}: ${p.message}`);
    expect(messages).toEqual(
      expect.arrayContaining([
        'params.extra: unknown parameter "extra"',
        'params.since: required',
        'params.limit: expected an integer, got "12.5"',
        'params.ratio: expected a number, got "abc"',
        'params.dry: expected a boolean (true or false), got "maybe"',
        expect.stringMatching(/^params.filter: expected JSON/),
      ]),
    );
    expect(r.problems).toHaveLength(6);
  });

  it('rejects dates that are not ISO 8601', () => {
    const r = resolveParams(specs, { since: '31/01/2026' });
    expect(r.problems[0].message).toMatch(/ISO 8601/);
  });
});
