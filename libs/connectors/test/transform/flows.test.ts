import { describe, expect, it } from 'vitest';
import { FlowValidationError } from '@junction/flow';
import { eventsOf, runTestFlow } from '../support/run-test-flow.ts';

const orders = [
  { id: 1, customer: 'ada', amount: '12.50', country: 'fr' },
  { id: 2, customer: 'bob', amount: '3.10', country: 'de' },
  { id: 3, customer: 'cy', amount: '99.99', country: 'fr' },
  { id: 4, customer: 'dee', amount: 'n/a', country: 'fr' },
];

describe('transform steps in a flow (runFlow, real registry)', () => {
  it('parses, maps, filters and writes CSV', async () => {
    const { result, events } = await runTestFlow(
      {
        params: { country: { type: 'string', default: 'fr' } },
        steps: [
          { id: 'parse', use: 'transform.parseJson', with: { source: 'body', path: 'json.orders' } },
          {
            id: 'shape',
            use: 'transform.map',
            onError: 'continue',
            with: {
              fields: {
                id: '{{ record.id }}',
                name: '{{ $uppercase(record.customer) }}',
                cents: '{{ $round($number(record.amount) * 100) }}',
                country: '{{ record.country }}',
              },
            },
          },
          {
            id: 'onlyCountry',
            use: 'transform.filter',
            with: { condition: 'record.country = params.country' },
          },
          { id: 'csv', use: 'transform.toCsv', with: { columns: ['id', 'name', 'cents'] } },
        ],
      },
      { trigger: { payload: { body: JSON.stringify({ orders }) } } },
    );
    expect(result.status).toBe('completed');
    expect(result.output).toEqual({ csv: 'id,name,cents\n1,ADA,1250\n3,CY,9999\n', count: 2 });
    expect(result.errorCount).toBe(1);
    const [failure] = eventsOf(events, 'record.error');
    expect(failure).toMatchObject({ stepId: 'shape', record: orders[3] });
    expect(failure.message).toMatch(/^field "cents": /);
    expect(result.stats.onlyCountry).toMatchObject({ in: 3, out: 2, ignored: 1 });
  });

  it('round-trips records through XML and parses CSV text', async () => {
    const { result } = await runTestFlow(
      {
        steps: [
          { id: 'rows', use: 'transform.parseCsv', with: { source: 'text', delimiter: ';' } },
          { id: 'xml', use: 'transform.toXml', with: { rootName: 'row', headless: true, keep: false } },
          { id: 'back', use: 'transform.fromXml' },
          { id: 'csv', use: 'transform.toCsv', with: { delimiter: ';' } },
        ],
      },
      { trigger: { payload: { text: 'a;b\nx & y;<z>\n"quoted;";\'s\'' } } },
    );
    expect(result.status).toBe('completed');
    expect(result.output).toEqual({ csv: 'a;b\nx & y;<z>\n"quoted;";\'s\'\n', count: 2 });
  });

  it('rejects a step with an unknown option before running, naming the path', async () => {
    const error = await runTestFlow({
      steps: [{ id: 'shape', use: 'transform.map', with: { fields: { a: '{{ record.a }}' }, keepp: true } }],
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FlowValidationError);
    expect(JSON.stringify((error as FlowValidationError).problems)).toMatch(/steps\[0\]\.with.*keepp/);
  });

  it('fails the step on a bad record when onError is the default (fail)', async () => {
    const { result } = await runTestFlow(
      { steps: [{ id: 'parse', use: 'transform.parseJson' }] },
      { trigger: { payload: { body: '{"a": tru}' } } },
    );
    expect(result.status).toBe('failed');
    expect(result.error?.message).toMatch(/field "body" is not valid JSON: .*position 9/);
  });
});
