import { z } from 'zod';
import { PARAM_NAME, ParamSpecSchema } from './params.ts';
import { StepSchema, StepSchemaForJsonSchema } from './steps.ts';
import { TriggerSchema } from './trigger.ts';

export const ConcurrencySchema = z.strictObject({
  max: z
    .union([z.number().int().min(1).max(10_000), z.literal('unlimited')])
    .default(1)
    .meta({ description: 'Most jobs of this flow running at once' }),
  onBusy: z
    .enum(['queue', 'skip'])
    .default('queue')
    .meta({ description: 'queue: wait for a slot in order; skip: refuse the run' }),
});
export type Concurrency = z.output<typeof ConcurrencySchema>;

export const SettingsSchema = z
  .looseObject({
    pageSize: z.number().int().min(1).max(100_000).optional(),
    timeoutMs: z.number().int().min(1).optional(),
  })
  .meta({ description: 'Flow settings, visible to templates as settings.*' });

function flowShape<S extends z.ZodType>(steps: S) {
  return {
    $schema: z.string().optional(),
    name: z
      .string()
      .min(1)
      .max(200)
      .regex(/^[A-Za-z0-9][A-Za-z0-9 ._-]*$/, 'expected letters, digits, spaces, ".", "_" or "-"'),
    description: z.string().max(10_000).optional(),
    params: z.record(z.string().regex(PARAM_NAME, 'expected an identifier'), ParamSpecSchema).default({}),
    trigger: TriggerSchema.default({ type: 'manual' }),
    concurrency: ConcurrencySchema.default({ max: 1, onBusy: 'queue' }),
    steps: z.array(steps).min(1, 'a flow needs at least one step'),
    onFailure: z
      .array(steps)
      .optional()
      .meta({ description: 'Steps run when the job fails; `error` is in scope' }),
    settings: SettingsSchema.default({}),
  };
}

export const FlowSchema = z.strictObject(flowShape(StepSchema));
export type Flow = z.output<typeof FlowSchema>;
/** What a user writes: defaults may be left out. */
export type FlowInput = z.input<typeof FlowSchema>;

export function flowJsonSchema(): Record<string, unknown> {
  const schema = z.strictObject(flowShape(StepSchemaForJsonSchema));
  return {
    ...z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', cycles: 'ref' }),
    $id: 'https://junction.dev/schemas/flow.schema.json',
    title: 'Junction flow',
  };
}
