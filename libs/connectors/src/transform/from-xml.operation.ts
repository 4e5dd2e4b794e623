import { z } from 'zod';
import { defineOperation, errorMessage, type FlowRecord, type RecordFailure } from '@junction/flow';
import { loadXml2js } from './lazy-modules.ts';
import { isPlainRecord, readText, without } from './record-fields.ts';

export const FromXmlInput = z.strictObject({
  source: z.string().min(1).default('xml').meta({ description: 'Field holding the XML text' }),
  target: z.string().min(1).optional().meta({
    description: 'Field for the parsed object; default: merge its fields into the record',
  }),
  keepSource: z.boolean().default(false).meta({ description: 'Keep the XML text field in the output' }),
  explicitArray: z.boolean().default(false).meta({
    description: 'Always put child elements in arrays (true) or only repeated ones (false, default)',
  }),
  explicitRoot: z.boolean().default(false).meta({
    description: 'Keep the root element as the outer key (default: the root element’s content)',
  }),
  attrKey: z.string().min(1).default('$').meta({ description: 'Key for an element’s attributes' }),
  charKey: z
    .string()
    .min(1)
    .default('_')
    .meta({ description: 'Key for the text of an element with attributes' }),
  mergeAttrs: z.boolean().default(false).meta({ description: 'Put attributes beside child elements' }),
  trim: z.boolean().default(false).meta({ description: 'Trim whitespace around text' }),
  parseNumbers: z.boolean().default(false).meta({ description: 'Turn numeric text into numbers' }),
  parseBooleans: z.boolean().default(false).meta({ description: 'Turn "true"/"false" into booleans' }),
});
export type FromXmlInput = z.output<typeof FromXmlInput>;

/** XML text → object with xml2js (no DTD or external entities are resolved: sax does not fetch). */
export const fromXml = defineOperation({
  name: 'fromXml',
  title: 'Parse XML',
  description: 'Parses the XML text in `source` into an object, in `target` or merged into the record.',
  kind: 'transform',
  input: FromXmlInput,
  async execute(_ctx, input, page) {
    const records: FlowRecord[] = [];
    const errors: RecordFailure[] = [];
    for (let index = 0; index < page.length; index++) {
      const record = page[index];
      const text = readText(record, input.source);
      if (!text.ok) {
        errors.push({ index, message: text.message });
        continue;
      }
      let parsed: unknown;
      try {
        parsed = await parseXml(text.text, input);
      } catch (e) {
        errors.push({ index, message: `field "${input.source}" is not valid XML: ${xmlErrorText(e)}` });
        continue;
      }
      const base = input.keepSource ? { ...record } : without(record, input.source);
      if (input.target !== undefined) {
        records.push({ ...base, [input.target]: parsed });
      } else if (isPlainRecord(parsed)) {
        records.push({ ...base, ...parsed });
      } else if (parsed === '' || parsed == null) {
        records.push(base); // an empty root element
      } else {
        errors.push({
          index,
          message: `the XML root holds only text, which cannot be merged into the record; set \`target\` to put it in a field`,
        });
      }
    }
    return errors.length > 0 ? { records, errors } : { records };
  },
});

// Names such as `constructor` or `__proto__` exist on every object, which xml2js mistakes for an
// earlier sibling; they are parsed under a marked name and restored afterwards.
const GUARD = '\u0001';

async function parseXml(text: string, input: FromXmlInput): Promise<unknown> {
  const { Parser, processors } = await loadXml2js();
  let guarded = false;
  const guard = (name: string): string => {
    if (!(name in Object.prototype)) return name;
    guarded = true;
    return GUARD + name;
  };
  const values = [
    ...(input.parseNumbers ? [processors.parseNumbers] : []),
    ...(input.parseBooleans ? [processors.parseBooleans] : []),
  ];
  const parser = new Parser({
    explicitArray: input.explicitArray,
    explicitRoot: input.explicitRoot,
    attrkey: input.attrKey,
    charkey: input.charKey,
    mergeAttrs: input.mergeAttrs,
    trim: input.trim,
    valueProcessors: values,
    attrValueProcessors: values,
    tagNameProcessors: [guard],
    attrNameProcessors: [guard],
  });
  const result: unknown = await parser.parseStringPromise(text);
  return guarded ? unguard(result) : result;
}

function unguard(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(unguard);
  if (!isPlainRecord(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    const name = key.startsWith(GUARD) ? key.slice(GUARD.length) : key;
    // An own `__proto__` key would change the prototype of objects it is later assigned into.
    if (name === '__proto__') continue;
    out[name] = unguard(v);
  }
  return out;
}

/** sax reports "message\nLine: 0\nColumn: 16\nChar: >" with a 0-based line; one line, 1-based. */
function xmlErrorText(e: unknown): string {
  const text = errorMessage(e);
  const m = /^([\s\S]*?)\nLine: (\d+)\nColumn: (\d+)/.exec(text);
  if (!m) return text.replace(/\s*\n\s*/g, ' ');
  return `${m[1].trim()} at line ${Number(m[2]) + 1}, column ${m[3]}`;
}
