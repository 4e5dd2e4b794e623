import { describe, expect, it } from 'vitest';
import { ConfigError } from '@junction/flow';
import { map } from '../../src/transform/map.operation.ts';
import { inputProblems, opContext, runPage } from '../support/op-context.ts';

describe('transform.map', () => {
  it('outputs only the computed fields by default', async () => {
    const result = await runPage(
      map,
      {
        fields: {
          name: '{{ $uppercase(record.name) }}',
          cents: '{{ $round(record.amount * 100) }}',
          source: 'crm',
          flag: true,
          label: 'Customer {{ record.id }}',
        },
      },
      [
        { id: 1, name: 'ada', amount: 1.234, secret: 'x' },
        { id: 2, name: 'bob', amount: 2.5, secret: 'y' },
      ],
    );
    expect(result.errors).toBeUndefined();
    expect(result.records).toEqual([
      { name: 'ADA', cents: 123, source: 'crm', flag: true, label: 'Customer 1' },
      { name: 'BOB', cents: 250, source: 'crm', flag: true, label: 'Customer 2' },
    ]);
  });

  it('keeps, renames, drops and defaults fields', async () => {
    const result = await runPage(
      map,
      {
        keep: true,
        fields: { total: '{{ record.qty * record.price }}' },
        rename: { cust_id: 'customerId' },
        drop: ['internal'],
        defaults: { status: 'new', note: '' },
      },
      [
        { cust_id: 7, qty: 2, price: 5, internal: 'x', status: 'paid', note: null },
        { cust_id: 8, qty: 1, price: 3 },
      ],
    );
    expect(result.records).toEqual([
      { customerId: 7, qty: 2, price: 5, status: 'paid', note: '', total: 10 },
      { customerId: 8, qty: 1, price: 3, total: 3, status: 'new', note: '' },
    ]);
    expect(Object.keys(result.records[0])).not.toContain('cust_id');
  });

  it('takes renamed fields into the output without keep', async () => {
    const result = await runPage(map, { rename: { a: 'b' }, fields: { c: '{{ record.a + 1 }}' } }, [
      { a: 1, z: 2 },
    ]);
    expect(result.records).toEqual([{ b: 1, c: 2 }]);
  });

  it('evaluates expressions against params and earlier steps', async () => {
    const ctx = opContext({ bindings: { params: { rate: 2 }, steps: { load: { output: { base: 10 } } } } });
    const result = await runPage(
      map,
      { fields: { v: '{{ record.x * params.rate + steps.load.output.base }}' } },
      [{ x: 3 }],
      ctx,
    );
    expect(result.records).toEqual([{ v: 16 }]);
  });

  it('fails only the record whose field expression fails, naming the field', async () => {
    const result = await runPage(map, { fields: { id: '{{ record.id }}', n: '{{ $number(record.n) }}' } }, [
      { id: 1, n: '5' },
      { id: 2, n: 'five' },
      { id: 3, n: '7' },
    ]);
    expect(result.records).toEqual([
      { id: 1, n: 5 },
      { id: 3, n: 7 },
    ]);
    expect(result.errors).toHaveLength(1);
    expect(result.errors?.[0].index).toBe(1);
    expect(result.errors?.[0].message).toMatch(/^field "n": /);
  });

  it('compiles each template once per step execution', async () => {
    const ctx = opContext();
    let compiles = 0;
    const counting = {
      ...ctx,
      compile: (s: string, o?: { bare?: boolean }) => (compiles++, ctx.compile(s, o)),
    };
    const input = { fields: { a: '{{ record.x }}', b: '{{ record.x + 1 }}' } };
    for (let p = 0; p < 3; p++) await runPage(map, input, [{ x: p }], counting);
    expect(compiles).toBe(2);
  });

  it('reports an expression syntax error as a ConfigError', async () => {
    await expect(runPage(map, { fields: { a: '{{ record.( }}' } }, [{}])).rejects.toBeInstanceOf(ConfigError);
  });

  it('rejects unknown options and wrong types with the field named', () => {
    expect(inputProblems(map, { fields: { a: 'x' }, keepp: true })).toEqual([
      expect.stringMatching(/Unrecognized key.*keepp/),
    ]);
    expect(inputProblems(map, { fields: { a: 'x' }, drop: 'a' })[0]).toMatch(/^drop: .*array/);
    expect(inputProblems(map, {})[0]).toMatch(/^fields: nothing to output/);
    expect(inputProblems(map, { fields: { a: { city: '{{ record.city }}' } } })[0]).toMatch(
      /^fields\.a: templates nested inside an object/,
    );
  });

  it('sustains well over 100k rows/s for simple fields', async () => {
    const page = Array.from({ length: 1000 }, (_, i) => ({
      id: i,
      name: `name${i}`,
      amount: i / 7,
      city: 'x',
    }));
    const input = map.input.parse({
      fields: {
        id: '{{ record.id }}',
        name: '{{ $uppercase(record.name) }}',
        cents: '{{ $round(record.amount * 100) }}',
        city: '{{ record.city }}',
      },
    });
    const ctx = opContext();
    await map.execute(ctx, input, page); // warm-up
    const pages = 200;
    const started = performance.now();
    let out = 0;
    for (let p = 0; p < pages; p++) out += (await map.execute(ctx, input, page)).records.length;
    const rowsPerSecond = (pages * page.length) / ((performance.now() - started) / 1000);
    expect(out).toBe(pages * page.length);
    expect(rowsPerSecond).toBeGreaterThan(150_000);
  });
});
