import { z } from 'zod';
import { defineOperation, errorMessage, type FlowRecord, type RecordFailure } from '@junction/flow';
import { loadXml2js } from './lazy-modules.ts';
import { describe, isPlainRecord } from './record-fields.ts';
import { isXmlName } from './xml-names.ts';

const xmlName = z
  .string()
  .refine(isXmlName, 'expected an XML name (a letter or _, then letters, digits, _ . - :)');

export const ToXmlInput = z.strictObject({
  field: z.string().min(1).optional().meta({
    description: 'Field to convert; default: the whole record',
  }),
  target: z.string().min(1).default('xml').meta({ description: 'Output field for the XML text' }),
  rootName: xmlName.default('root').meta({ description: 'Name of the root element' }),
  headless: z.boolean().default(false).meta({ description: 'Omit the <?xml ...?> declaration' }),
  pretty: z.boolean().default(false).meta({ description: 'Indent the XML' }),
  attrKey: z.string().min(1).default('$').meta({ description: 'Key whose object holds attributes' }),
  charKey: z
    .string()
    .min(1)
    .default('_')
    .meta({ description: 'Key holding the text of an element with attributes' }),
  keep: z.boolean().default(true).meta({
    description: 'Keep the record and add `target` (true, default) or output only `target`',
  }),
});
export type ToXmlInput = z.output<typeof ToXmlInput>;

/**
 * Record → XML text with xml2js, the same key conventions fromXml reads back, so
 * JSON → XML → JSON round-trips (values come back as text unless fromXml parses numbers).
 */
export const toXml = defineOperation({
  name: 'toXml',
  title: 'Convert to XML',
  description: 'Converts each record (or one field of it) to an XML string in `target`.',
  kind: 'transform',
  input: ToXmlInput,
  async execute(_ctx, input, page) {
    // The root is always passed as the single key, with xml2js' own rootName left at its
    // default: otherwise a one-field record would have that field promoted to the root.
    const { Builder } = await loadXml2js();
    const builder = new Builder({
      headless: input.headless,
      attrkey: input.attrKey,
      charkey: input.charKey,
      renderOpts: { pretty: input.pretty, indent: '  ', newline: '\n' },
    });
    const records: FlowRecord[] = [];
    const errors: RecordFailure[] = [];
    page.forEach((record, index) => {
      const value = input.field === undefined ? record : record[input.field];
      if (input.field !== undefined && value === undefined) {
        errors.push({ index, message: `field "${input.field}" is missing` });
        return;
      }
      if (Array.isArray(value)) {
        errors.push({
          index,
          message: `${input.field ? `field "${input.field}"` : 'the record'} is an array; XML needs one root element (wrap it in an object)`,
        });
        return;
      }
      try {
        const xml = builder.buildObject({ [input.rootName]: xmlReady(value, input, []) });
        records.push(input.keep ? { ...record, [input.target]: xml } : { [input.target]: xml });
      } catch (e) {
        errors.push({ index, message: `cannot convert to XML: ${errorMessage(e)}` });
      }
    });
    return errors.length > 0 ? { records, errors } : { records };
  },
});

/** Converts values XML has no form for (dates, bytes, bigints) and checks names, so errors name the field. */
function xmlReady(value: unknown, input: ToXmlInput, path: string[]): unknown {
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (typeof value === 'bigint') return value.toString();
  if (value === undefined || value === null) return '';
  if (Array.isArray(value)) return value.map((v, i) => xmlReady(v, input, [...path, String(i)]));
  if (!isPlainRecord(value)) {
    if (typeof value === 'function' || typeof value === 'symbol')
      throw new Error(`"${path.join('.')}" is ${describe(value)}`);
    return value;
  }
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (v === undefined) continue;
    if (key === input.attrKey && isPlainRecord(v)) {
      for (const name of Object.keys(v)) {
        if (!isXmlName(name))
          throw new Error(
            `attribute name "${name}" at "${[...path, key].join('.')}" is not a valid XML name`,
          );
      }
      out[key] = xmlReady(v, input, [...path, key]);
    } else if (key === input.charKey) {
      out[key] = xmlReady(v, input, [...path, key]);
    } else {
      if (!isXmlName(key))
        throw new Error(`field "${[...path, key].join('.')}" is not a valid XML element name`);
      out[key] = xmlReady(v, input, [...path, key]);
    }
  }
  return out;
}
