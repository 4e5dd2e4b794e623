import { z } from 'zod';
import { defineOperation, type FlowRecord, type RecordFailure } from '@junction/flow';
import { compiled } from './compiled-templates.ts';

export const FilterInput = z.strictObject({
  condition: z.string().trim().min(1, 'expected a condition').meta({
    description:
      'JSONata condition, bare or as "{{ expr }}", evaluated per record (`record` is the record); records for which it is falsy are dropped',
  }),
});
export type FilterInput = z.output<typeof FilterInput>;

/** Keeps the records a condition holds for; dropped records are counted as ignored, not as errors. */
export const filter = defineOperation({
  name: 'filter',
  title: 'Filter records',
  description: 'Passes on the records for which `condition` is true and ignores the others.',
  kind: 'transform',
  input: FilterInput,
  rawFields: ['condition'],
  async execute(ctx, input, page) {
    const { values, errors: failed } = await compiled(ctx, input.condition, true).evaluatePage(page);
    const records: FlowRecord[] = [];
    const errors: RecordFailure[] = [];
    let ignored = 0;
    for (let i = 0; i < page.length; i++) {
      const message = failed.size > 0 ? failed.get(i) : undefined;
      if (message !== undefined) errors.push({ index: i, message: `condition: ${message}` });
      else if (isTruthy(values[i])) records.push(page[i]);
      else ignored++;
    }
    return errors.length > 0 ? { records, errors, ignored } : { records, ignored };
  },
});

/** JSONata's notion of truth ($boolean), so a condition means the same here as in `if` steps. */
function isTruthy(value: unknown): boolean {
  if (value === undefined || value === null) return false;
  if (Array.isArray(value)) return value.some(isTruthy);
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') return value !== 0 && !Number.isNaN(value);
  if (typeof value === 'string') return value.length > 0;
  if (typeof value === 'object') return Object.keys(value).length > 0;
  return false; // functions
}
