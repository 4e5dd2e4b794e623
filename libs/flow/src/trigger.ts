import { z } from 'zod';

export const TriggerSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('manual') }),
  z.strictObject({ type: z.literal('api') }),
  z.strictObject({
    type: z.literal('schedule'),
    cron: z.string().min(1).meta({ description: 'Cron expression, e.g. "*/5 * * * *"' }),
    timezone: z.string().optional(),
  }),
  z.strictObject({
    type: z.literal('listener'),
    path: z.string().regex(/^\/[A-Za-z0-9/_{}.-]*$/, 'expected a path starting with /'),
    method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']).default('POST'),
    public: z.boolean().default(false),
  }),
]);
export type Trigger = z.output<typeof TriggerSchema>;
