import { z } from 'zod';

const secret = (description: string) => z.string().min(1).meta({ secret: true, description });

/** How a request proves who sends it; the secret parts are marked so they are stored encrypted. */
export const AuthSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('basic'),
    username: z.string(),
    password: z.string().meta({ secret: true }),
  }),
  z.strictObject({ type: z.literal('bearer'), token: secret('Sent as Authorization: Bearer <token>') }),
  z.strictObject({
    type: z.literal('apiKey'),
    header: z
      .string()
      .min(1)
      .default('X-API-Key')
      .meta({ description: 'Header that carries the key (default X-API-Key)' }),
    value: secret('The key'),
  }),
]);
export type Auth = z.output<typeof AuthSchema>;

/** The header an auth adds: [name, value]. */
export function authHeader(auth: Auth): [string, string] {
  switch (auth.type) {
    case 'basic':
      return [
        'authorization',
        `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`,
      ];
    case 'bearer':
      return ['authorization', `Bearer ${auth.token}`];
    case 'apiKey':
      return [auth.header.toLowerCase(), auth.value];
  }
}
