import { z } from 'zod';
import { defineOperation, errorMessage, type Page, type RecordFailure } from '@junction/flow';
import { stepKey } from './compiled-templates.ts';
import { loadCsvStringify } from './lazy-modules.ts';

const Column = z.union([
  z.string().min(1),
  z.strictObject({ key: z.string().min(1), header: z.string().min(1) }),
]);

export const ToCsvInput = z.strictObject({
  mode: z.enum(['page', 'perRecord']).default('page').meta({
    description:
      'page (default): one output record {csv, count} per page; perRecord: add a CSV line field to each record',
  }),
  target: z.string().min(1).default('csv').meta({ description: 'Output field for the CSV text' }),
  header: z.boolean().default(true).meta({ description: 'page mode: start the CSV with a header row' }),
  repeatHeader: z.boolean().default(false).meta({
    description:
      'page mode: put the header in every page (default: in the first page only, so the pages concatenate into one CSV)',
  }),
  columns: z.array(Column).min(1).optional().meta({
    description:
      'Fields to write, in order, as names or {key, header}; default: the fields of the first page',
  }),
  delimiter: z.string().min(1).default(','),
  recordDelimiter: z
    .enum(['unix', 'windows'])
    .default('unix')
    .meta({ description: 'Line ends: \\n or \\r\\n' }),
  quoted: z.boolean().default(false).meta({ description: 'Quote every field, not only those that need it' }),
  escapeFormulas: z.boolean().default(false).meta({
    description: 'Prefix fields starting with = + - @ so spreadsheets do not run them as formulas',
  }),
});
export type ToCsvInput = z.output<typeof ToCsvInput>;

interface CsvState {
  columns?: { key: string; header: string }[];
  headerWritten: boolean;
}

// Columns and "header written" hold for the whole step execution, so every page has the same
// columns and the page texts join up into one CSV.
const stateByStep = new WeakMap<object, CsvState>();

/** Records → CSV text with csv-stringify, per page or per record. */
export const toCsv = defineOperation({
  name: 'toCsv',
  title: 'Convert to CSV',
  description: 'Turns the records into CSV text: one {csv, count} record per page, or a CSV line per record.',
  kind: 'transform',
  input: ToCsvInput,
  async execute(ctx, input, page) {
    if (page.length === 0) return { records: [] };
    const { stringify } = await loadCsvStringify();
    let state = stateByStep.get(stepKey(ctx));
    if (!state) {
      state = { headerWritten: false };
      stateByStep.set(stepKey(ctx), state);
    }
    const columns = (state.columns ??= resolveColumns(input, page));
    const keys = columns.map((c) => c.key);
    const errors: RecordFailure[] = [];
    const rows: { index: number; cells: string[] }[] = [];
    page.forEach((record, index) => {
      try {
        rows.push({ index, cells: keys.map((k) => cell(record[k])) });
      } catch (e) {
        errors.push({ index, message: `cannot write as CSV: ${errorMessage(e)}` });
      }
    });
    const options = {
      delimiter: input.delimiter,
      record_delimiter: input.recordDelimiter,
      quoted: input.quoted,
      escape_formulas: input.escapeFormulas,
    };
    if (input.mode === 'perRecord') {
      const records = rows.map(({ index, cells }) => ({
        ...page[index],
        [input.target]: stringify([cells], { ...options, eof: false }),
      }));
      return errors.length > 0 ? { records, errors } : { records };
    }
    const withHeader = input.header && (input.repeatHeader || !state.headerWritten);
    const table = rows.map((r) => r.cells);
    if (withHeader) table.unshift(columns.map((c) => c.header));
    state.headerWritten ||= withHeader;
    const records: Page =
      rows.length > 0 || withHeader
        ? [{ [input.target]: stringify(table, options), count: rows.length }]
        : [];
    return errors.length > 0 ? { records, errors } : { records };
  },
});

function resolveColumns(input: ToCsvInput, page: Page): { key: string; header: string }[] {
  if (input.columns) return input.columns.map((c) => (typeof c === 'string' ? { key: c, header: c } : c));
  const seen = new Set<string>();
  // perRecord lines must line up, so they take the first record's fields; a page takes them all
  const sample = input.mode === 'perRecord' ? page.slice(0, 1) : page;
  for (const record of sample) for (const key of Object.keys(record)) seen.add(key);
  return [...seen].map((key) => ({ key, header: key }));
}

function cell(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return String(value);
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (typeof value === 'object') return JSON.stringify(value);
  throw new Error(`a ${typeof value} has no CSV form`);
}
