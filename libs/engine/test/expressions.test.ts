import jsonata from 'jsonata';
import { describe, expect, it } from 'vitest';
import { compileTemplate } from '@junction/engine';
import { compileFastPath } from '../src/expressions/fast-path.ts';

const bindings = { params: { factor: 3, label: 'L' }, steps: {}, env: {} };

const records = [
  { name: 'ada', amount: 12.345, n: 2, s: '2.5', flag: true, nested: { x: 1 }, list: [1, 2], nul: null },
  { name: '  two  spaces ', amount: 0.5, n: -3, s: 'abc', flag: false, nested: {}, list: [1], nul: null },
  { amount: 2.5, n: 0 },
];

// Expressions the fast path compiles, plus some it must hand back to JSONata.
const expressions = [
  'record.name',
  '$uppercase(record.name)',
  '$lowercase(record.name)',
  '$trim(record.name)',
  '$round(record.amount * 100)',
  '$round(record.amount, 2)',
  'record.amount * params.factor',
  'record.n / 0',
  'record.name & "-" & record.n & params.label',
  'record.amount > 1 ? "big" : "small"',
  'record.flag and record.n > 0',
  'record.flag or record.n = 2',
  '$string(record.amount)',
  '$number(record.s)',
  '$exists(record.name)',
  '-record.n',
  'record.nested.x',
  'record.list',
  'record.nul + 1',
  '$length(record.name)',
  '$floor(record.amount) + $ceil(record.amount) + $abs(record.n)',
  '$sum(record.list)',
];

async function viaJsonata(expr: string, record: object): Promise<{ value?: unknown; error?: boolean }> {
  try {
    return { value: await jsonata(expr).evaluate({ ...bindings, record }) };
  } catch {
    return { error: true };
  }
}

describe('compileTemplate', () => {
  it('agrees with JSONata on every expression, record by record and page by page', async () => {
    for (const expr of expressions) {
      const t = compileTemplate(`{{ ${expr} }}`, bindings);
      const page = await t.evaluatePage(records);
      for (const [i, record] of records.entries()) {
        const expected = await viaJsonata(expr, record);
        if (expected.error) {
          expect(page.errors.has(i), `${expr} on record ${i} should fail`).toBe(true);
          await expect(t.evaluate(record)).rejects.toThrow(/failed/);
        } else {
          expect(page.values[i], `${expr} on record ${i}`).toEqual(expected.value);
          expect(await t.evaluate(record)).toEqual(expected.value);
        }
      }
    }
  });

  it('keeps the type of a whole template and interpolates mixed text', async () => {
    expect(await compileTemplate('{{ params.factor }}', bindings).evaluate()).toBe(3);
    expect(
      await compileTemplate('n={{ params.factor }}, {{ record.o }}', bindings).evaluate({ o: { a: 1 } }),
    ).toBe('n=3, {"a":1}');
    const constant = compileTemplate('plain text', bindings);
    expect(constant.isConstant).toBe(true);
    expect(await constant.evaluate()).toBe('plain text');
  });

  it('accepts bare expressions for conditions', async () => {
    const t = compileTemplate('record.n > 1', bindings, { bare: true });
    expect(await t.evaluate({ n: 2 })).toBe(true);
    expect(await t.evaluate({ n: 0 })).toBe(false);
  });

  it('reports a syntax error with its position', () => {
    expect(() => compileTemplate('{{ record.a + ( }}', bindings)).toThrow(
      /invalid expression "record.a \+ \(" at position \d+/,
    );
  });

  it('compiles common map expressions to the JavaScript fast path and leaves the rest to JSONata', () => {
    const fast = [
      '$uppercase(record.name)',
      '$round(record.amount * 100)',
      'record.a & "-" & record.b',
      'record.x > 1 ? 1 : 2',
    ];
    for (const e of fast) expect(compileFastPath(jsonata(e).ast()), e).toBeTypeOf('function');
    for (const e of ['$sum(record.list)', 'record.list[0]', 'record.{ "a": b }']) {
      expect(compileFastPath(jsonata(e).ast()), e).toBeUndefined();
    }
  });
});
