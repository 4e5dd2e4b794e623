import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DatabaseConnectionSchema, poolKey } from '../../src/database/connection.schema.ts';

function issues(input: unknown): { path: string; message: string }[] {
  const r = DatabaseConnectionSchema.safeParse(input);
  if (r.success) return [];
  return r.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
}

describe('database connection schema', () => {
  it('accepts a url, or host fields, and fills in the pool size', () => {
    expect(DatabaseConnectionSchema.parse({ type: 'postgres', url: 'postgresql://u:p@db:5432/app' })).toEqual(
      {
        type: 'postgres',
        url: 'postgresql://u:p@db:5432/app',
        poolSize: 5,
      },
    );
    expect(
      DatabaseConnectionSchema.parse({
        type: 'mysql',
        host: 'db',
        port: 3306,
        user: 'u',
        password: 'p',
        ssl: true,
      }),
    ).toMatchObject({ type: 'mysql', host: 'db', ssl: true, poolSize: 5 });
  });

  it('requires host when there is no url', () => {
    expect(issues({ type: 'postgres', database: 'x' })).toEqual([
      { path: 'host', message: 'required when no url is given' },
    ]);
  });

  it('refuses a url together with host fields, naming each', () => {
    expect(issues({ type: 'postgres', url: 'postgres://h/db', host: 'h', password: 'p' })).toEqual([
      { path: 'host', message: 'give either url or host/port/user/password/database, not both' },
      { path: 'password', message: 'give either url or host/port/user/password/database, not both' },
    ]);
  });

  it('names the field of a wrong type, port or scheme', () => {
    expect(issues({ type: 'oracle', host: 'h' }).map((i) => i.path)).toEqual(['type']);
    expect(issues({ type: 'mysql', host: 'h', port: 70000 })).toEqual([
      { path: 'port', message: expect.stringMatching(/<=65535/) },
    ]);
    expect(issues({ type: 'mysql', url: 'postgres://h/db' })).toEqual([
      {
        path: 'url',
        message:
          'expected a mysql:// or mariadb:// URL for type "mysql", like mysql://user:password@host:3306/database',
      },
    ]);
    expect(issues({ type: 'postgres', url: 'not a url' })).toEqual([
      { path: 'url', message: 'expected a URL like postgres://user:password@host:5432/database' },
    ]);
    expect(issues({ type: 'postgres', host: 'h', pasword: 'typo' })).toEqual([
      { path: '', message: expect.stringContaining('pasword') },
    ]);
  });

  it('marks the password and the url (which may hold one) as secret', () => {
    const json = z.toJSONSchema(DatabaseConnectionSchema, { io: 'input' }) as {
      properties: Record<string, { secret?: boolean }>;
    };
    const secret = Object.entries(json.properties)
      .filter(([, p]) => p.secret === true)
      .map(([k]) => k);
    expect(secret).toEqual(['url', 'password']);
  });

  it('keys pools by a hash of the config, never the password in clear', () => {
    const a = DatabaseConnectionSchema.parse({ type: 'postgres', host: 'h', password: 'hunter2' });
    const b = DatabaseConnectionSchema.parse({ type: 'postgres', host: 'h', password: 'other' });
    expect(poolKey(a)).toMatch(/^database:postgres:[0-9a-f]{32}$/);
    expect(poolKey(a)).not.toContain('hunter2');
    expect(poolKey(a)).not.toBe(poolKey(b));
    expect(poolKey(a)).toBe(
      poolKey(DatabaseConnectionSchema.parse({ password: 'hunter2', host: 'h', type: 'postgres' })),
    );
  });
});
