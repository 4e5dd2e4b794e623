import { describe, expect, it } from 'vitest';
import { parseJson } from '../../src/transform/parse-json.operation.ts';
import { firstInvalidPosition } from '../../src/transform/json-errors.ts';
import { inputProblems, opContext, runPage } from '../support/op-context.ts';

describe('transform.parseJson', () => {
  it('turns an array into one record per element and wraps non-objects as {value}', async () => {
    const result = await runPage(parseJson, {}, [{ body: '[{"a":1},{"a":2},3,"x",null]' }]);
    expect(result.records).toEqual([{ a: 1 }, { a: 2 }, { value: 3 }, { value: 'x' }, { value: null }]);
  });

  it('turns an object into one record, reading a configured source field', async () => {
    const result = await runPage(parseJson, { source: 'text' }, [
      { text: '{"id":7,"nested":{"k":[1,2]}}' },
      { text: '"str"' },
    ]);
    expect(result.records).toEqual([{ id: 7, nested: { k: [1, 2] } }, { value: 'str' }]);
  });

  it('reads bytes as UTF-8 and takes an already parsed value as is', async () => {
    const result = await runPage(parseJson, {}, [{ body: Buffer.from('{"s":"é"}') }, { body: [{ x: 1 }] }]);
    expect(result.records).toEqual([{ s: 'é' }, { x: 1 }]);
  });

  it('picks the array with a JSONata path over `json`, with the record and params visible', async () => {
    const ctx = opContext({ bindings: { params: { minQty: 2 } } });
    const body = JSON.stringify({
      data: {
        items: [
          { sku: 'a', qty: 1 },
          { sku: 'b', qty: 3 },
          { sku: 'c', qty: 5 },
        ],
      },
    });
    const result = await runPage(
      parseJson,
      { path: 'json.data.items[qty >= $$.params.minQty].{ "sku": sku, "order": $$.record.order }' },
      [{ order: 9, body }],
      ctx,
    );
    expect(result.errors).toBeUndefined();
    expect(result.records).toEqual([
      { sku: 'b', order: 9 },
      { sku: 'c', order: 9 },
    ]);
  });

  it('gives no records when the path matches nothing', async () => {
    const result = await runPage(parseJson, { path: '{{ json.missing }}' }, [{ body: '{"a":1}' }]);
    expect(result).toEqual({ records: [] });
  });

  it('fails a record with invalid JSON naming the position, and goes on', async () => {
    const result = await runPage(parseJson, {}, [
      { body: '{"a": tru}' },
      { body: '[1,2' },
      { body: '' },
      { body: '{"ok":true}' },
      { nobody: 1 },
      { body: 5 },
    ]);
    expect(result.records).toEqual([{ ok: true }]);
    expect(result.errors).toEqual([
      {
        index: 0,
        message: `field "body" is not valid JSON: Unexpected token '}' at position 9 (line 1 column 10)`,
      },
      {
        index: 1,
        message: expect.stringMatching(
          /^field "body" is not valid JSON: .* at position 4 \(line 1 column 5\)$/,
        ),
      },
      {
        index: 2,
        message:
          'field "body" is not valid JSON: Unexpected end of JSON input at position 0 (line 1 column 1)',
      },
      { index: 4, message: 'field "body" is missing (expected text)' },
      { index: 5, message: 'field "body" must be text, got a number' },
    ]);
  });

  it('locates the first invalid character of a JSON text', () => {
    expect(firstInvalidPosition('{"a": [1, 2, }')).toBe(13);
    expect(firstInvalidPosition('\n\n {"a": nul}')).toBe(12);
    expect(firstInvalidPosition('{"a": "x')).toBe(8);
  });

  it('rejects unknown options', () => {
    expect(inputProblems(parseJson, { sourcee: 'x' })[0]).toMatch(/Unrecognized key.*sourcee/);
    expect(inputProblems(parseJson, { path: '' })[0]).toMatch(/^path: /);
  });
});
