import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { DEVELOPMENT_SECRET_KEY, parseSecretKey } from '@junction/protocol';

/** Everything the API reads from its environment, read once at start (nothing else reads process.env). */
export interface AppConfig {
  /** NODE_ENV: production requires real secrets. */
  readonly env: 'development' | 'test' | 'production';
  readonly http: {
    /** HOST, default 127.0.0.1 */
    readonly host: string;
    /** PORT, default 8080 (0 picks a free port) */
    readonly port: number;
    /** BODY_LIMIT in bytes (accepts 512kb, 1mb), default 1 MB */
    readonly bodyLimit: number;
  };
  readonly database: {
    /** DATABASE_URL, default postgres://postgres@127.0.0.1:5432/junction */
    readonly url: string;
    /** DATABASE_AUTO_CREATE, default true: create the database at start when it is missing */
    readonly autoCreate: boolean;
    /**
     * DATABASE_PREPARED_STATEMENTS, default true: hot statements are prepared once per connection.
     * False behind a pooler that cannot keep them (PgBouncer in transaction mode with
     * max_prepared_statements = 0).
     */
    readonly preparedStatements: boolean;
  };
  readonly redis: {
    /** REDIS_URL, default redis://127.0.0.1:6379 */
    readonly url: string;
  };
  readonly secrets: {
    /** JUNCTION_SECRET_KEY: 32 bytes, hex or base64; encrypts connection secrets (shared with workers) */
    readonly key: Buffer;
  };
  readonly auth: {
    /** JUNCTION_JWT_SECRET; derived from the secret key when unset */
    readonly jwtSecret: string;
    /** JUNCTION_TOKEN_TTL_SECONDS, default 3600 */
    readonly tokenTtlSeconds: number;
    /** JUNCTION_ADMIN_EMAIL, default admin@junction.local: the first user, created when there is none */
    readonly adminEmail: string;
    /** JUNCTION_ADMIN_PASSWORD; generated and printed once when unset */
    readonly adminPassword: string | undefined;
  };
  readonly log: {
    /** LOG_LEVEL, default info */
    readonly level: LogLevel;
  };
  readonly connections: {
    /** CONNECTION_TEST_TIMEOUT_MS, default 10000 */
    readonly testTimeoutMs: number;
  };
  readonly jobs: {
    /** JUNCTION_REDIS_PREFIX, default junction: the queues, streams and keys of this deployment (the workers' too) */
    readonly redisPrefix: string;
    /** JOBS_RECONCILE_INTERVAL_MS, default 5000: how often PostgreSQL and Redis are compared and repaired */
    readonly reconcileIntervalMs: number;
    /** JOBS_LOST_POLICY, fail (default) or retry: what happens to a job whose worker died */
    readonly lostPolicy: 'fail' | 'retry';
    /** JOBS_MAX_ATTEMPTS, default 3: runs of a job under the retry policy, the first included */
    readonly maxAttempts: number;
    /** JOBS_BACKGROUND, default true: run the event consumer and the reconciler in this process */
    readonly background: boolean;
    /** JOBS_RETENTION_DAYS, default 30 (0 keeps them forever): finished jobs older than this are deleted, logs and all */
    readonly retentionDays: number;
    /** JOBS_RETENTION_INTERVAL_MS, default 600000: how often old jobs are looked for */
    readonly retentionIntervalMs: number;
  };
  /** Things to say loudly at start (a development key in use...). */
  readonly warnings: readonly string[];
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export type Env = Readonly<Record<string, string | undefined>>;

/** Thrown by loadConfig with every bad key at once. */
export class ConfigurationError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'ConfigurationError';
    this.problems = problems;
  }
}

const MB = 1024 * 1024;

/** Reads and validates the whole configuration; throws ConfigurationError listing every bad key. */
export function loadConfig(env: Env): AppConfig {
  const r = new EnvReader(env);
  const nodeEnv = r.oneOf('NODE_ENV', ['development', 'test', 'production'], 'development');
  const production = nodeEnv === 'production';
  const warnings: string[] = [];

  const keyText = r.secret('JUNCTION_SECRET_KEY');
  let key: Buffer = Buffer.from(DEVELOPMENT_SECRET_KEY, 'hex');
  if (keyText === undefined) {
    if (production) r.problem('JUNCTION_SECRET_KEY', 'required in production (32 bytes, hex or base64)');
    else
      warnings.push(
        'JUNCTION_SECRET_KEY is not set: connection secrets are encrypted with the PUBLIC development key. ' +
          'Set JUNCTION_SECRET_KEY (e.g. `openssl rand -base64 32`) before storing real secrets.',
      );
  } else {
    try {
      key = parseSecretKey(keyText);
    } catch (e) {
      r.problem('JUNCTION_SECRET_KEY', (e as Error).message);
    }
  }

  const jwtSecret = r.secret('JUNCTION_JWT_SECRET');
  if (jwtSecret !== undefined && jwtSecret.length < 16)
    r.problem('JUNCTION_JWT_SECRET', 'expected at least 16 characters');

  const adminEmail = r.string('JUNCTION_ADMIN_EMAIL', 'admin@junction.local');
  if (!/^[^\s@]+@[^\s@]+$/.test(adminEmail)) r.problem('JUNCTION_ADMIN_EMAIL', `expected an email address`);
  const adminPassword = r.secret('JUNCTION_ADMIN_PASSWORD');
  if (adminPassword !== undefined && adminPassword.length < 8)
    r.problem('JUNCTION_ADMIN_PASSWORD', 'expected at least 8 characters');

  const config: AppConfig = {
    env: nodeEnv,
    http: {
      host: r.string('HOST', '127.0.0.1'),
      port: r.integer('PORT', 8080, 0, 65_535),
      bodyLimit: r.bytes('BODY_LIMIT', MB),
    },
    database: {
      url: r.url('DATABASE_URL', 'postgres://postgres@127.0.0.1:5432/junction', ['postgres:', 'postgresql:']),
      autoCreate: r.boolean('DATABASE_AUTO_CREATE', true),
      preparedStatements: r.boolean('DATABASE_PREPARED_STATEMENTS', true),
    },
    redis: { url: r.url('REDIS_URL', 'redis://127.0.0.1:6379', ['redis:', 'rediss:']) },
    secrets: { key },
    auth: {
      jwtSecret: jwtSecret ?? createHmac('sha256', key).update('junction-jwt').digest('hex'),
      tokenTtlSeconds: r.integer('JUNCTION_TOKEN_TTL_SECONDS', 3600, 60, 30 * 24 * 3600),
      adminEmail: adminEmail.toLowerCase(),
      adminPassword,
    },
    log: { level: r.oneOf('LOG_LEVEL', LOG_LEVELS, 'info') },
    connections: { testTimeoutMs: r.integer('CONNECTION_TEST_TIMEOUT_MS', 10_000, 100, 600_000) },
    jobs: {
      redisPrefix: r.string('JUNCTION_REDIS_PREFIX', 'junction'),
      reconcileIntervalMs: r.integer('JOBS_RECONCILE_INTERVAL_MS', 5_000, 200, 600_000),
      lostPolicy: r.oneOf('JOBS_LOST_POLICY', ['fail', 'retry'] as const, 'fail'),
      maxAttempts: r.integer('JOBS_MAX_ATTEMPTS', 3, 1, 100),
      background: r.boolean('JOBS_BACKGROUND', true),
      retentionDays: r.integer('JOBS_RETENTION_DAYS', 30, 0, 36_500),
      retentionIntervalMs: r.integer('JOBS_RETENTION_INTERVAL_MS', 600_000, 100, 86_400_000),
    },
    warnings,
  };
  if (r.problems.length > 0) throw new ConfigurationError(r.problems);
  return config;
}

/** Reads typed values from the environment, collecting one problem per bad key. */
class EnvReader {
  readonly problems: string[] = [];
  private readonly env: Env;

  constructor(env: Env) {
    this.env = env;
  }

  problem(key: string, message: string): void {
    this.problems.push(`${key}: ${message}`);
  }

  private raw(key: string): string | undefined {
    const value = this.env[key];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  }

  string(key: string, fallback: string): string {
    return this.raw(key) ?? fallback;
  }

  /** A secret may come from NAME or, for mounted secrets, from the file named by NAME_FILE. */
  secret(key: string): string | undefined {
    const direct = this.raw(key);
    const file = this.raw(`${key}_FILE`);
    if (direct !== undefined && file !== undefined) {
      this.problem(key, `set either ${key} or ${key}_FILE, not both`);
      return undefined;
    }
    if (file === undefined) return direct;
    try {
      const text = readFileSync(file, 'utf8').trim();
      if (text === '') this.problem(`${key}_FILE`, `file ${file} is empty`);
      return text === '' ? undefined : text;
    } catch (e) {
      this.problem(`${key}_FILE`, `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
      return undefined;
    }
  }

  integer(key: string, fallback: number, min: number, max: number): number {
    const text = this.raw(key);
    if (text === undefined) return fallback;
    const n = Number(text);
    if (!/^-?\d+$/.test(text) || n < min || n > max) {
      this.problem(key, `expected an integer from ${min} to ${max}, got ${JSON.stringify(text)}`);
      return fallback;
    }
    return n;
  }

  boolean(key: string, fallback: boolean): boolean {
    const text = this.raw(key)?.toLowerCase();
    if (text === undefined) return fallback;
    if (['true', '1', 'yes'].includes(text)) return true;
    if (['false', '0', 'no'].includes(text)) return false;
    this.problem(key, `expected true or false, got ${JSON.stringify(text)}`);
    return fallback;
  }

  oneOf<T extends string>(key: string, values: readonly T[], fallback: T): T {
    const text = this.raw(key);
    if (text === undefined) return fallback;
    if ((values as readonly string[]).includes(text)) return text as T;
    this.problem(key, `expected one of ${values.join(', ')}, got ${JSON.stringify(text)}`);
    return fallback;
  }

  url(key: string, fallback: string, protocols: readonly string[]): string {
    const text = this.raw(key) ?? fallback;
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      this.problem(key, `expected a URL like ${fallback}`);
      return fallback;
    }
    if (!protocols.includes(url.protocol)) {
      this.problem(key, `expected a ${protocols.join(' or ')}// URL, got ${url.protocol}//...`);
      return fallback;
    }
    return text;
  }

  /** A size in bytes: `1048576`, `512kb`, `1mb`. */
  bytes(key: string, fallback: number): number {
    const text = this.raw(key)?.toLowerCase();
    if (text === undefined) return fallback;
    const m = /^(\d+)\s*(b|kb|mb)?$/.exec(text);
    const n = m ? Number(m[1]) * (m[2] === 'mb' ? MB : m[2] === 'kb' ? 1024 : 1) : NaN;
    if (!Number.isSafeInteger(n) || n < 1024 || n > 1024 * MB) {
      this.problem(
        key,
        `expected a size from 1kb to 1024mb (e.g. 1048576, 512kb, 1mb), got ${JSON.stringify(text)}`,
      );
      return fallback;
    }
    return n;
  }
}
