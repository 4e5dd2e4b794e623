import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  SECRET_MASK,
  joinSecrets,
  maskSecrets,
  secretPaths,
  splitSecrets,
} from '../src/modules/connections/secret-fields.ts';

const secret = { secret: true };

describe('secret fields of a connection schema', () => {
  it('finds fields marked secret through optional, default and nested objects', () => {
    const schema = z.strictObject({
      type: z.literal('x'),
      host: z.string(),
      password: z.string().optional().meta(secret),
      token: z.string().meta(secret).default('t'),
      tls: z.object({ key: z.string().meta(secret), ca: z.string() }).optional(),
    });
    expect(secretPaths(schema)).toEqual(['password', 'tls.key', 'token']);
  });

  it('looks into every branch of a union and through refinements', () => {
    const schema = z.union([
      z.object({ url: z.string().meta(secret) }),
      z.object({ user: z.string(), apiKey: z.string().meta(secret) }).superRefine(() => undefined),
    ]);
    expect(secretPaths(schema)).toEqual(['apiKey', 'url']);
  });

  it('splits secrets out of a config, masks them, and joins them back', () => {
    const config = { host: 'h', password: 'p', tls: { key: 'k', ca: 'c' } };
    const { plain, secrets } = splitSecrets(config, ['password', 'tls.key', 'token']);
    expect(plain).toEqual({ host: 'h', tls: { ca: 'c' } });
    expect(secrets).toEqual({ password: 'p', 'tls.key': 'k' });
    expect(maskSecrets(plain, secrets)).toEqual({
      host: 'h',
      password: SECRET_MASK,
      tls: { ca: 'c', key: SECRET_MASK },
    });
    expect(joinSecrets(plain, secrets)).toEqual(config);
    expect(config.password).toBe('p'); // the input is left alone
  });
});
