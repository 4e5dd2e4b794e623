import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Redactor } from '../src/redactor.ts';
import { secretFieldsOf, secretValuesOf } from '../src/secret-values.ts';

describe('secrets of a connection', () => {
  it('finds fields the schema marks secret, secret-sounding fields and passwords inside URLs', () => {
    const schema = z.strictObject({
      type: z.string(),
      dsn: z.string().optional().meta({ secret: true }),
      host: z.string().optional(),
    });
    const fields = secretFieldsOf(schema);
    expect([...fields]).toEqual(['dsn']);
    const values = secretValuesOf(
      {
        type: 'x',
        dsn: 'opaque-dsn',
        host: 'db',
        apiKey: 'k-123',
        url: 'postgres://me:p%40ss@db/x',
      },
      fields,
    );
    expect(values).toEqual(expect.arrayContaining(['opaque-dsn', 'k-123', 'p%40ss', 'p@ss']));
    expect(values).not.toContain('db');
  });
});

describe('redactor', () => {
  it('scrubs secrets from text and from every string inside JSON, escaped or not', () => {
    const r = new Redactor();
    r.add(['hunter"2', 'abc-secret']);
    expect(r.redact('login with abc-secret failed')).toBe('login with *** failed');
    const json = r.json({ message: 'pw hunter"2 rejected', nested: [{ url: 'x://u:abc-secret@h' }] });
    expect(json).not.toContain('hunter');
    expect(json).not.toContain('abc-secret');
    expect(JSON.parse(json)).toEqual({ message: 'pw *** rejected', nested: [{ url: 'x://u:***@h' }] });
  });

  it('writes bigints as decimal text rather than failing', () => {
    expect(new Redactor().json({ id: 9007199254740993n })).toBe('{"id":"9007199254740993"}');
  });
});
