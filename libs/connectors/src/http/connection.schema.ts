import { z } from 'zod';
import { AuthSchema } from './auth.ts';

export const HeadersSchema = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]));

/** Optional: a base URL, default headers and credentials shared by the steps that name it. */
export const HttpConnectionSchema = z.strictObject({
  type: z.literal('http'),
  baseUrl: z
    .url({ protocol: /^https?$/, error: 'expected an http(s) URL, e.g. https://api.example.com/v1' })
    .optional()
    .meta({ description: 'Relative request URLs are appended to it' }),
  headers: HeadersSchema.optional().meta({
    description: 'Sent with every request; a step can override each',
  }),
  auth: AuthSchema.optional(),
});
export type HttpConnection = z.output<typeof HttpConnectionSchema>;
