import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { z } from 'zod';
import type { Options as CsvOptions } from 'csv-parse';
import {
  ConnectorError,
  defineOperation,
  errorMessage,
  type FlowRecord,
  type RecordFailure,
} from '@junction/flow';
import { loadCsvParse } from './lazy-modules.ts';
import { readText } from './record-fields.ts';

export const ParseCsvInput = z
  .strictObject({
    source: z.string().min(1).default('body').meta({ description: 'Field holding the CSV text' }),
    delimiter: z.string().min(1).default(',').meta({ description: 'Field delimiter' }),
    header: z.boolean().default(true).meta({
      description: 'The first row holds the column names (true, default)',
    }),
    columns: z.array(z.string().min(1)).min(1).optional().meta({
      description:
        'Column names; with header: true the header row is skipped. Without header or columns, fields are named column1, column2, ...',
    }),
    quote: z
      .union([z.string().length(1), z.literal(false)])
      .default('"')
      .meta({
        description: 'Quote character, or false for none',
      }),
    skipEmptyLines: z.boolean().default(true),
    trim: z.boolean().default(false).meta({ description: 'Trim whitespace around fields' }),
    cast: z.boolean().default(false).meta({ description: 'Turn numeric fields into numbers' }),
    relaxColumnCount: z.boolean().default(false).meta({
      description: 'Accept rows with more or fewer fields than the header',
    }),
    comment: z
      .string()
      .length(1)
      .optional()
      .meta({ description: 'Lines starting with this character are ignored' }),
  })
  .refine((i) => i.quote === false || !i.delimiter.includes(i.quote), {
    path: ['quote'],
    message: 'the quote character must differ from the delimiter',
  });
export type ParseCsvInput = z.output<typeof ParseCsvInput>;

/**
 * CSV text → records, parsed as a stream in chunks so a large text neither blocks the event loop
 * nor ignores cancellation. A transform returns one result per input page, so all the records of
 * one text are held together (the engine passes them on in pages of the run's page size): memory
 * is bounded by that text's size. Large CSV files belong in a source operation that reads and
 * pages them; this is for CSV held in a field (an HTTP body).
 */
export const parseCsv = defineOperation({
  name: 'parseCsv',
  title: 'Parse CSV',
  description:
    'Parses the CSV text in `source` into one record per row, passed on in pages of the run’s page size. A text is parsed whole, so memory grows with its size.',
  kind: 'transform',
  input: ParseCsvInput,
  async execute(ctx, input, page) {
    const records: FlowRecord[] = [];
    const errors: RecordFailure[] = [];
    for (let index = 0; index < page.length; index++) {
      const text = readText(page[index], input.source);
      if (!text.ok) {
        errors.push({ index, message: text.message });
        continue;
      }
      try {
        const rows = await parseCsvText(text.text, input, ctx.signal);
        for (const row of rows) records.push(row);
      } catch (e) {
        if (ctx.signal.aborted) throw e;
        errors.push({ index, message: `field "${input.source}" is not valid CSV: ${errorMessage(e)}` });
      }
    }
    return errors.length > 0 ? { records, errors } : { records };
  },
});

const CHUNK_CHARS = 256 * 1024;

async function parseCsvText(text: string, input: ParseCsvInput, signal: AbortSignal): Promise<FlowRecord[]> {
  const named = input.header || input.columns !== undefined;
  const options: CsvOptions = {
    delimiter: input.delimiter,
    columns: input.columns ?? input.header,
    from_line: input.columns && input.header ? 2 : 1,
    quote: input.quote === false ? null : input.quote,
    // a quote inside a quoted field is written doubled, whatever the quote character
    escape: input.quote === false ? null : input.quote,
    skip_empty_lines: input.skipEmptyLines,
    trim: input.trim,
    cast: input.cast,
    relax_column_count: input.relaxColumnCount,
    bom: true,
    ...(input.comment !== undefined ? { comment: input.comment } : {}),
  };
  const { parse } = await loadCsvParse();
  const parser = parse(options);
  const records: FlowRecord[] = [];
  parser.on('readable', () => {
    let row: unknown;
    while ((row = parser.read()) !== null)
      records.push(named ? (row as FlowRecord) : positional(row as unknown[]));
  });
  let failed = false;
  const done = new Promise<void>((resolve, reject) => {
    parser.once('end', resolve);
    parser.once('error', (e) => {
      failed = true;
      reject(e);
    });
  });
  done.catch(() => undefined); // awaited below; this only keeps an early rejection from being "unhandled"
  for (let offset = 0; offset < text.length && !failed;) {
    if (signal.aborted) {
      parser.destroy();
      throw new ConnectorError('cancelled', { retryable: false, cause: signal.reason });
    }
    let end = Math.min(offset + CHUNK_CHARS, text.length);
    // never split a surrogate pair between two chunks
    if (end < text.length && isHighSurrogate(text.charCodeAt(end - 1))) end--;
    parser.write(text.slice(offset, end));
    offset = end;
    if (offset < text.length) await yieldToLoop();
  }
  if (!failed) parser.end();
  await done;
  return records;
}

function positional(row: unknown[]): FlowRecord {
  const out: FlowRecord = {};
  row.forEach((v, i) => {
    out[`column${i + 1}`] = v;
  });
  return out;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}
