import { z } from 'zod';
import {
  defineOperation,
  hasTemplate,
  type CompiledTemplate,
  type FlowRecord,
  type PageEvaluation,
  type RecordFailure,
} from '@junction/flow';
import { compiled } from './compiled-templates.ts';

const fieldName = z.string().min(1, 'expected a field name');

export const MapInput = z
  .strictObject({
    fields: z.record(fieldName, z.unknown()).default({}).meta({
      description:
        'Output fields: name → "{{ expression }}" (evaluated per record, `record` is the input record) or a constant value',
    }),
    keep: z.boolean().default(false).meta({
      description:
        'Start from the input record (true) or output only `fields` and renamed fields (false, default)',
    }),
    rename: z.record(fieldName, fieldName).default({}).meta({
      description: 'Input field → output name. With keep, the old name is removed',
    }),
    drop: z.array(fieldName).default([]).meta({ description: 'Fields removed from the output' }),
    defaults: z.record(fieldName, z.unknown()).default({}).meta({
      description:
        'Values for output fields that are null or missing (constants; templates here see params and steps, not the record)',
    }),
  })
  .superRefine((input, ctx) => {
    for (const [name, value] of Object.entries(input.fields)) {
      if (typeof value !== 'string' && hasNestedTemplate(value)) {
        ctx.addIssue({
          code: 'custom',
          path: ['fields', name],
          message:
            'templates nested inside an object or array are not evaluated; write the whole value as one expression, e.g. "{{ { \'city\': record.city } }}"',
        });
      }
    }
    const renames = Object.keys(input.rename).length > 0;
    if (Object.keys(input.fields).length === 0 && !input.keep && !renames) {
      ctx.addIssue({
        code: 'custom',
        path: ['fields'],
        message: 'nothing to output: give `fields`, `rename`, or `keep: true`',
      });
    }
  });
export type MapInput = z.output<typeof MapInput>;

interface FieldPlan {
  name: string;
  template?: CompiledTemplate;
  constant?: unknown;
}

/**
 * Computes output fields per page. Each field's template is compiled once and evaluated over the
 * whole page (the engine's fast path), so a simple map costs microseconds per record.
 */
export const map = defineOperation({
  name: 'map',
  title: 'Map fields',
  description:
    'Computes each output record from the input record: fields from expressions or constants, optionally keeping, renaming, dropping and defaulting fields.',
  kind: 'transform',
  input: MapInput,
  rawFields: ['fields'],
  async execute(ctx, input, page) {
    const plans: FieldPlan[] = Object.entries(input.fields).map(([name, value]) => {
      if (typeof value === 'string' && value.includes('{{')) {
        const template = compiled(ctx, value);
        if (!template.isConstant) return { name, template };
      }
      return { name, constant: value };
    });
    const evaluations = await Promise.all(
      plans.map((p) => p.template?.evaluatePage(page) ?? Promise.resolve(undefined)),
    );
    const shape = recordShaper(input);
    const records: FlowRecord[] = [];
    const errors: RecordFailure[] = [];
    for (let i = 0; i < page.length; i++) {
      const failure = fieldFailures(plans, evaluations, i);
      if (failure) {
        errors.push({ index: i, message: failure });
        continue;
      }
      const out = shape.base(page[i]);
      for (let f = 0; f < plans.length; f++) {
        const evaluation = evaluations[f];
        out[plans[f].name] = evaluation ? evaluation.values[i] : plans[f].constant;
      }
      records.push(shape.finish(out));
    }
    return errors.length > 0 ? { records, errors } : { records };
  },
});

function fieldFailures(
  plans: readonly FieldPlan[],
  evaluations: readonly (PageEvaluation | undefined)[],
  index: number,
): string | undefined {
  let messages: string[] | undefined;
  for (let f = 0; f < plans.length; f++) {
    const errors = evaluations[f]?.errors;
    if (!errors || errors.size === 0) continue;
    const message = errors.get(index);
    if (message !== undefined) (messages ??= []).push(`field "${plans[f].name}": ${message}`);
  }
  return messages?.join('; ');
}

interface RecordShaper {
  /** The record before computed fields: a copy of the input (keep) or only the renamed fields. */
  base(record: FlowRecord): FlowRecord;
  /** Applies defaults, then drops. */
  finish(record: FlowRecord): FlowRecord;
}

function recordShaper(input: MapInput): RecordShaper {
  const renames = Object.entries(input.rename);
  const defaults = Object.entries(input.defaults);
  const drop = input.drop;
  // Copying key by key (instead of spread + delete) keeps output objects in V8's fast mode.
  const skipped = new Set(renames.map(([from]) => from));
  const base = !input.keep
    ? (record: FlowRecord): FlowRecord => {
        const out: FlowRecord = {};
        for (const [from, to] of renames) if (Object.hasOwn(record, from)) out[to] = record[from];
        return out;
      }
    : renames.length === 0
      ? (record: FlowRecord): FlowRecord => ({ ...record })
      : (record: FlowRecord): FlowRecord => {
          const out: FlowRecord = {};
          for (const key of Object.keys(record)) if (!skipped.has(key)) out[key] = record[key];
          for (const [from, to] of renames) if (Object.hasOwn(record, from)) out[to] = record[from];
          return out;
        };
  if (defaults.length === 0 && drop.length === 0) return { base, finish: (r) => r };
  const dropped = new Set(drop);
  return {
    base,
    finish(record) {
      for (const [name, value] of defaults) if (record[name] == null) record[name] = value;
      if (dropped.size === 0) return record;
      const out: FlowRecord = {};
      for (const key of Object.keys(record)) if (!dropped.has(key)) out[key] = record[key];
      return out;
    },
  };
}

function hasNestedTemplate(value: unknown): boolean {
  if (hasTemplate(value)) return true;
  if (Array.isArray(value)) return value.some(hasNestedTemplate);
  if (typeof value === 'object' && value !== null) return Object.values(value).some(hasNestedTemplate);
  return false;
}
