import { z } from 'zod';

export const STEP_ID = /^[A-Za-z_][A-Za-z0-9_]*$/;
const stepId = z
  .string()
  .regex(STEP_ID, 'expected an identifier (letters, digits, _; not starting with a digit)')
  .meta({ description: 'Unique id; later steps refer to this step as steps.<id>' });

export const RetrySchema = z.strictObject({
  attempts: z.number().int().min(1).max(100).meta({ description: 'Total attempts, the first included' }),
  backoff: z.enum(['fixed', 'exponential']).default('exponential'),
  delayMs: z.number().int().min(0).max(3_600_000).default(1000),
  maxDelayMs: z.number().int().min(0).max(3_600_000).optional(),
  jitter: z.boolean().default(true),
});
export type RetryPolicy = z.output<typeof RetrySchema>;

export const ON_ERROR = ['fail', 'continue', 'fallback'] as const;
export type OnError = (typeof ON_ERROR)[number];

/** A connection: the name of a stored connection, or an inline `{type, ...config}` object. */
export const ConnectionRefSchema = z.union([z.string().min(1), z.looseObject({ type: z.string().min(1) })]);
export type ConnectionRef = z.output<typeof ConnectionRefSchema>;

export interface ConnectorStep {
  id: string;
  name?: string;
  use: string;
  connection?: ConnectionRef;
  with: Record<string, unknown>;
  retry?: RetryPolicy;
  onError: OnError;
  fallback?: Step[];
  timeoutMs?: number;
}
export interface IfStep {
  id: string;
  name?: string;
  if: string;
  then: Step[];
  else?: Step[];
}
export interface ForEachStep {
  id: string;
  name?: string;
  /** A `{{ expr }}` list expression, or "records" for each record of the incoming stream. */
  forEach: string;
  as: string;
  do: Step[];
}
export interface TryStep {
  id: string;
  name?: string;
  try: Step[];
  catch?: Step[];
  finally?: Step[];
}
export type Step = ConnectorStep | IfStep | ForEachStep | TryStep;
export type StepKind = 'connector' | 'if' | 'forEach' | 'try';

export function stepKind(step: Step): StepKind {
  if ('use' in step) return 'connector';
  if ('if' in step) return 'if';
  if ('forEach' in step) return 'forEach';
  return 'try';
}

/**
 * The four step shapes, built around a schema for nested step lists. Parsing dispatches on the
 * step's key (`use`, `if`, `forEach`, `try`) so errors name the right fields instead of listing
 * the failures of every union branch; the JSON Schema uses a plain union for editors.
 */
function stepShapes(steps: () => z.ZodType) {
  const list = z.lazy(() => z.array(steps()));
  const common = { id: stepId, name: z.string().optional() };
  return {
    connector: z.strictObject({
      ...common,
      use: z
        .string()
        .regex(
          /^[a-z][a-z0-9-]*\.[A-Za-z][A-Za-z0-9]*$/,
          'expected "<connector>.<operation>", e.g. database.query',
        )
        .meta({ description: 'The operation to run, as <connector>.<operation>' }),
      connection: ConnectionRefSchema.optional(),
      with: z.record(z.string(), z.unknown()).default({}).meta({
        description: "The operation's input; string values may hold {{ JSONata }} templates",
      }),
      retry: RetrySchema.optional(),
      onError: z.enum(ON_ERROR).default('fail'),
      fallback: list.optional(),
      timeoutMs: z.number().int().min(1).max(86_400_000).optional(),
    }),
    if: z.strictObject({
      ...common,
      if: z.string().min(1).meta({ description: 'A condition: {{ expr }} or a bare JSONata expression' }),
      then: list,
      else: list.optional(),
    }),
    forEach: z.strictObject({
      ...common,
      forEach: z.string().min(1).meta({
        description: 'A {{ expr }} that yields a list, or "records" to run `do` once per incoming record',
      }),
      as: z.string().regex(STEP_ID).default('item'),
      do: list,
    }),
    try: z.strictObject({
      ...common,
      try: list,
      catch: list.optional(),
      finally: list.optional(),
    }),
  };
}

const KINDS = ['use', 'if', 'forEach', 'try'] as const;
const KIND_OF: Record<(typeof KINDS)[number], StepKind> = {
  use: 'connector',
  if: 'if',
  forEach: 'forEach',
  try: 'try',
};

// z.lazy needs the shapes to exist before the dispatching schema references them.
// eslint-disable-next-line prefer-const
let parseShapes: ReturnType<typeof stepShapes>;

export const StepSchema: z.ZodType<Step> = z.unknown().transform((value, ctx): Step => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    ctx.addIssue({ code: 'custom', message: 'expected a step object' });
    return z.NEVER;
  }
  const present = KINDS.filter((k) => k in value);
  if (present.length !== 1) {
    ctx.addIssue({
      code: 'custom',
      message:
        present.length === 0
          ? 'a step needs one of "use" (a connector operation), "if", "forEach" or "try"'
          : `a step has exactly one of "use", "if", "forEach", "try"; this one has ${present.map((k) => `"${k}"`).join(' and ')}`,
    });
    return z.NEVER;
  }
  const result = parseShapes[KIND_OF[present[0]]].safeParse(value);
  if (!result.success) {
    for (const issue of result.error.issues) ctx.addIssue({ ...issue, path: issue.path });
    return z.NEVER;
  }
  return result.data as Step;
});

parseShapes = stepShapes(() => StepSchema);

/** Step schemas with a plain union, used to publish the JSON Schema. */
export const StepSchemaForJsonSchema: z.ZodType = z.lazy(() => {
  const shapes = stepShapes(() => StepSchemaForJsonSchema);
  return z.union([shapes.connector, shapes.if, shapes.forEach, shapes.try]);
});
