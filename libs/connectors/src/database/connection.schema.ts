import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { SqlDialect } from './sql-template.ts';

const URL_SCHEMES: Record<string, readonly string[]> = {
  postgres: ['postgres:', 'postgresql:'],
  mysql: ['mysql:', 'mariadb:'],
  mariadb: ['mysql:', 'mariadb:'],
};

const SslSchema = z.union([
  z.boolean(),
  z.strictObject({
    rejectUnauthorized: z.boolean().optional(),
    ca: z.string().optional().meta({ description: 'PEM certificate(s) of the CA to trust' }),
  }),
]);

/**
 * A PostgreSQL or MySQL/MariaDB connection: a `url`, or `host`/`port`/`user`/`password`/`database`.
 * The url is secret too, since it may hold the password.
 */
export const DatabaseConnectionSchema = z
  .strictObject({
    type: z.enum(['postgres', 'mysql', 'mariadb']).meta({ description: 'postgres, or mysql/mariadb' }),
    url: z.string().optional().meta({
      secret: true,
      description: 'e.g. postgres://user:password@host:5432/db or mysql://user@host/db',
    }),
    host: z.string().min(1).optional(),
    port: z.number().int().min(1).max(65535).optional().meta({ description: 'default 5432 / 3306' }),
    user: z.string().min(1).optional(),
    password: z.string().optional().meta({ secret: true }),
    database: z.string().min(1).optional(),
    ssl: SslSchema.optional().meta({ description: 'true, or {rejectUnauthorized, ca}' }),
    poolSize: z
      .number()
      .int()
      .min(1)
      .max(100)
      .default(5)
      .meta({ description: 'Connections in the pool (default 5)' }),
  })
  .superRefine((c, ctx) => {
    if (c.url === undefined) {
      if (c.host === undefined)
        ctx.addIssue({ code: 'custom', path: ['host'], message: 'required when no url is given' });
      return;
    }
    for (const field of ['host', 'port', 'user', 'password', 'database'] as const) {
      if (c[field] !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: [field],
          message: 'give either url or host/port/user/password/database, not both',
        });
    }
    let protocol: string;
    try {
      protocol = new URL(c.url).protocol;
    } catch {
      ctx.addIssue({ code: 'custom', path: ['url'], message: `expected a URL like ${example(c.type)}` });
      return;
    }
    if (!URL_SCHEMES[c.type].includes(protocol))
      ctx.addIssue({
        code: 'custom',
        path: ['url'],
        message: `expected a ${URL_SCHEMES[c.type].map((s) => `${s}//`).join(' or ')} URL for type "${c.type}", like ${example(c.type)}`,
      });
  });

export type DatabaseConnection = z.output<typeof DatabaseConnectionSchema>;

function example(type: DatabaseConnection['type']): string {
  return type === 'postgres'
    ? 'postgres://user:password@host:5432/database'
    : 'mysql://user:password@host:3306/database';
}

export function dialectOf(c: Pick<DatabaseConnection, 'type'>): SqlDialect {
  return c.type === 'postgres' ? 'postgres' : 'mysql';
}

export function serverName(dialect: SqlDialect): string {
  return dialect === 'postgres' ? 'PostgreSQL' : 'MySQL';
}

/** Key of the run's shared pool: same config, same pool. Hashed, so no password appears in it. */
export function poolKey(c: DatabaseConnection): string {
  const canonical = JSON.stringify(sortKeys(c));
  return `database:${dialectOf(c)}:${createHash('sha256').update(canonical).digest('hex').slice(0, 32)}`;
}

function sortKeys(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Object.fromEntries(entries.map(([k, v]) => [k, sortKeys(v)]));
}

/**
 * Where to connect and how to secure it, in the shape both drivers take: a URL under the driver's
 * own key (`connectionString` for pg, `uri` for mysql2), or the parts; `ssl: true` verifies.
 */
export type ConnectionParts<K extends string> = Partial<Record<K, string>> & {
  host?: string;
  port?: number;
  user?: string;
  password?: string;
  database?: string;
  ssl?: Exclude<DatabaseConnection['ssl'], boolean> | { rejectUnauthorized: true };
};

export function connectionParts<K extends string>(c: DatabaseConnection, urlKey: K): ConnectionParts<K> {
  const where =
    c.url !== undefined
      ? { [urlKey]: c.url }
      : { host: c.host, port: c.port, user: c.user, password: c.password, database: c.database };
  const ssl =
    c.ssl === undefined || c.ssl === false
      ? {}
      : { ssl: c.ssl === true ? { rejectUnauthorized: true } : c.ssl };
  // the computed key widens the URL part's type; the shape is the one declared
  return { ...where, ...ssl } as ConnectionParts<K>;
}

/** Where the server is, for messages: host:port, never credentials. */
export function describeTarget(c: DatabaseConnection): string {
  const dialect = dialectOf(c);
  const defaultPort = dialect === 'postgres' ? 5432 : 3306;
  if (c.url !== undefined) {
    const u = new URL(c.url);
    return `${u.hostname || 'localhost'}:${u.port || defaultPort}`;
  }
  return `${c.host ?? 'localhost'}:${c.port ?? defaultPort}`;
}
