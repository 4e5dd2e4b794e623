import { describe, expect, it } from 'vitest';
import { filter } from '../../src/transform/filter.operation.ts';
import { inputProblems, opContext, runPage } from '../support/op-context.ts';

const page = [
  { id: 1, amount: 50, tags: [] },
  { id: 2, amount: 150, tags: ['vip'] },
  { id: 3, amount: 300, tags: ['a'] },
];

describe('transform.filter', () => {
  it('keeps records the bare condition holds for and counts the rest as ignored', async () => {
    const result = await runPage(filter, { condition: 'record.amount > 100' }, page);
    expect(result.records.map((r) => r.id)).toEqual([2, 3]);
    expect(result.ignored).toBe(1);
    expect(result.errors).toBeUndefined();
  });

  it('accepts the condition as a template and uses params', async () => {
    const ctx = opContext({ bindings: { params: { min: 200 } } });
    const result = await runPage(filter, { condition: '{{ record.amount >= params.min }}' }, page, ctx);
    expect(result.records.map((r) => r.id)).toEqual([3]);
    expect(result.ignored).toBe(2);
  });

  it('uses JSONata truthiness (empty arrays and strings are false)', async () => {
    const result = await runPage(filter, { condition: 'record.tags' }, page);
    expect(result.records.map((r) => r.id)).toEqual([2, 3]);
  });

  it('turns a failing condition into a failure for that record only', async () => {
    const result = await runPage(filter, { condition: '$number(record.n) > 1' }, [
      { n: '2' },
      { n: 'x' },
      { n: '0' },
    ]);
    expect(result.records).toEqual([{ n: '2' }]);
    expect(result.ignored).toBe(1);
    expect(result.errors).toEqual([{ index: 1, message: expect.stringMatching(/^condition: /) }]);
  });

  it('requires a condition', () => {
    expect(inputProblems(filter, {})[0]).toMatch(/^condition: /);
    expect(inputProblems(filter, { condition: 'x', where: 'y' })[0]).toMatch(/Unrecognized key.*where/);
  });
});
