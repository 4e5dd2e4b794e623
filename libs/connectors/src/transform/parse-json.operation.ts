import { z } from 'zod';
import { defineOperation, type FlowRecord, type RecordFailure } from '@junction/flow';
import { compiled } from './compiled-templates.ts';
import { jsonErrorText } from './json-errors.ts';
import { isPlainRecord, readText } from './record-fields.ts';

export const ParseJsonInput = z.strictObject({
  source: z.string().min(1).default('body').meta({
    description: 'Field holding the JSON text (an already parsed object or array is taken as is)',
  }),
  path: z.string().trim().min(1).optional().meta({
    description:
      'JSONata picking the part to turn into records; `json` is the parsed value and `record` the input record, e.g. "json.data.items"',
  }),
});
export type ParseJsonInput = z.output<typeof ParseJsonInput>;

/** JSON text → records: an array gives one record per element, an object one record. */
export const parseJson = defineOperation({
  name: 'parseJson',
  title: 'Parse JSON',
  description:
    'Parses the JSON text in `source` into records: one per element of an array, one for an object; other values are wrapped as {value}.',
  kind: 'transform',
  input: ParseJsonInput,
  rawFields: ['path'],
  async execute(ctx, input, page) {
    const path = input.path === undefined ? undefined : compiled(ctx, input.path, true);
    const records: FlowRecord[] = [];
    const errors: RecordFailure[] = [];
    for (let index = 0; index < page.length; index++) {
      const record = page[index];
      let json: unknown = record[input.source];
      if (typeof json !== 'object' || json === null || json instanceof Uint8Array) {
        const text = readText(record, input.source);
        if (!text.ok) {
          errors.push({ index, message: text.message });
          continue;
        }
        try {
          json = JSON.parse(text.text);
        } catch (e) {
          errors.push({
            index,
            message: `field "${input.source}" is not valid JSON: ${jsonErrorText(e, text.text)}`,
          });
          continue;
        }
      }
      if (path) {
        try {
          json = await path.evaluate(record, { json });
        } catch (e) {
          errors.push({ index, message: `path: ${e instanceof Error ? e.message : String(e)}` });
          continue;
        }
        if (json === undefined) continue; // the path matched nothing: no records
      }
      if (Array.isArray(json)) {
        for (const item of json) records.push(asRecord(item));
      } else if (isPlainRecord(json)) {
        records.push(json);
      } else {
        records.push({ value: json });
      }
    }
    return errors.length > 0 ? { records, errors } : { records };
  },
});

function asRecord(item: unknown): FlowRecord {
  return isPlainRecord(item) ? item : { value: item };
}
