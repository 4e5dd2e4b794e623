/**
 * Runs the built API as users do (`node apps/api/dist/main.js`) against the real PostgreSQL and
 * Redis, on a free port with a fresh database of its own, and talks HTTP to it.
 *
 *   const api = await startApi();
 *   const res = await api.request('POST', '/api/v1/flows', { body: flow });
 *   await api.stop(); // stops the process and drops its database
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import pg from 'pg';

export const API_DIR = fileURLToPath(new URL('../../', import.meta.url));
export const API_MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));
const BUILD_SCRIPT = fileURLToPath(new URL('./build-api.ts', import.meta.url));
const BUILD_LOCK = '/tmp/junction-api-build.lock';

export const PG_SERVER = 'postgres://postgres@127.0.0.1:5432';
export const REDIS_URL = 'redis://127.0.0.1:6379';
export const ADMIN_EMAIL = 'admin@example.test';
export const ADMIN_PASSWORD = 'correct horse battery staple';

export interface ApiResponse<T = unknown> {
  status: number;
  headers: Headers;
  /** Parsed JSON when the answer is JSON, else the text. */
  body: T;
  text: string;
}

export interface RequestOptions {
  /** Sent as JSON unless `raw` is given. */
  body?: unknown;
  /** Sent as is (with `contentType`, default application/json). */
  raw?: string | Buffer;
  contentType?: string;
  headers?: Record<string, string>;
  /** Bearer token; default the admin's; null sends none. */
  token?: string | null;
}

export interface ApiProcess {
  /** http://127.0.0.1:<port> */
  readonly baseUrl: string;
  /** The admin's bearer token. */
  readonly token: string;
  /** The fresh database of this API (created by the API at start, dropped by stop()). */
  readonly databaseName: string;
  readonly databaseUrl: string;
  /** JUNCTION_SECRET_KEY given to the API (base64), for decrypting what it stored. */
  readonly secretKey: string;
  /** The environment the process was started with. */
  readonly env: Readonly<Record<string, string>>;
  readonly process: ChildProcess;
  /** stdout + stderr so far. */
  output(): string;
  request<T = unknown>(method: string, path: string, options?: RequestOptions): Promise<ApiResponse<T>>;
  /** Runs SQL on the API's own database (for checking what it stored). */
  query<R extends Record<string, unknown> = Record<string, unknown>>(
    sql: string,
    params?: unknown[],
  ): Promise<R[]>;
  /** SIGTERM, wait for exit, drop the database (unless keepDatabase or replicaOf). */
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Extra or overriding environment variables. */
  env?: Record<string, string>;
  /** Leave the database in place on stop(). */
  keepDatabase?: boolean;
  /** Skip fetching a token (for an API that is expected to have no usable admin). */
  noToken?: boolean;
  /** How long to wait for /health, default 60 s. */
  timeoutMs?: number;
  /**
   * Start another replica of this API: its environment but the port (so the same database, left
   * in place on stop, Redis prefix, secret key and admin), then `env`.
   */
  replicaOf?: ApiProcess;
}

let built = false;

/** Builds apps/api once per test process (and not at all when dist is up to date). */
export function buildApi(): void {
  if (built) return;
  execFileSync('flock', [BUILD_LOCK, process.execPath, BUILD_SCRIPT], { stdio: 'inherit', cwd: API_DIR });
  built = true;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  server.close();
  await once(server, 'close');
  return port;
}

export function uniqueDatabaseName(prefix = 'junction_test'): string {
  return `${prefix}_${randomBytes(6).toString('hex')}`;
}

/** The environment a test API gets: nothing inherited but PATH/HOME, so the machine's own settings cannot leak in. */
export function baseEnv(databaseName: string, port: number, secretKey: string): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/tmp',
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    PORT: String(port),
    DATABASE_URL: `${PG_SERVER}/${databaseName}`,
    REDIS_URL,
    // the queues, streams and concurrency gates of this API alone: parallel suites never share jobs
    JUNCTION_REDIS_PREFIX: `test:${databaseName}`,
    JUNCTION_SECRET_KEY: secretKey,
    JUNCTION_ADMIN_EMAIL: ADMIN_EMAIL,
    JUNCTION_ADMIN_PASSWORD: ADMIN_PASSWORD,
    LOG_LEVEL: 'warn',
  };
}

export async function startApi(options: StartOptions = {}): Promise<ApiProcess> {
  buildApi();
  const primary = options.replicaOf;
  const databaseName = primary?.databaseName ?? uniqueDatabaseName();
  const port = await freePort();
  const secretKey = primary?.secretKey ?? randomBytes(32).toString('base64');
  const env: Record<string, string> = primary
    ? { ...primary.env, PORT: String(port), ...options.env }
    : { ...baseEnv(databaseName, port, secretKey), ...options.env };
  const keepDatabase = options.keepDatabase === true || primary !== undefined;
  const child = spawn(process.execPath, [API_MAIN], { env, cwd: API_DIR, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = once(child, 'exit');
  const baseUrl = `http://127.0.0.1:${port}`;
  const databaseUrl = env.DATABASE_URL;
  let pool: pg.Pool | undefined;

  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    await pool?.end();
    pool = undefined;
    if (!keepDatabase) {
      await dropDatabase(new URL(databaseUrl).pathname.slice(1));
      if (env.JUNCTION_REDIS_PREFIX) await deleteRedisPrefix(env.JUNCTION_REDIS_PREFIX);
    }
  };

  try {
    await waitForHealth(baseUrl, child, () => output, options.timeoutMs ?? 60_000);
  } catch (e) {
    await stop();
    throw e;
  }

  const request = async <T>(
    method: string,
    path: string,
    opts: RequestOptions = {},
  ): Promise<ApiResponse<T>> => {
    const headers: Record<string, string> = { ...opts.headers };
    const token = opts.token === undefined ? api.token : opts.token;
    if (token !== null && token !== '') headers.authorization = `Bearer ${token}`;
    let body: string | Buffer | undefined;
    if (opts.raw !== undefined) {
      body = opts.raw;
      headers['content-type'] = opts.contentType ?? 'application/json';
    } else if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['content-type'] = opts.contentType ?? 'application/json';
    }
    const res = await fetch(`${baseUrl}${path}`, { method, headers, body });
    const text = await res.text();
    const isJson = (res.headers.get('content-type') ?? '').includes('json');
    return {
      status: res.status,
      headers: res.headers,
      body: (isJson && text !== '' ? JSON.parse(text) : text) as T,
      text,
    };
  };

  const api = {
    baseUrl,
    token: '',
    databaseName,
    databaseUrl,
    secretKey,
    env,
    process: child,
    output: () => output,
    request,
    async query<R extends Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<R[]> {
      pool ??= new pg.Pool({ connectionString: databaseUrl, max: 2 });
      return (await pool.query<R>(sql, params)).rows;
    },
    stop,
  };
  if (!options.noToken) {
    const res = await request<{ accessToken: string }>('POST', '/api/v1/auth/token', {
      body: { email: env.JUNCTION_ADMIN_EMAIL, password: env.JUNCTION_ADMIN_PASSWORD },
      token: null,
    });
    if (res.status !== 200) {
      await stop();
      throw new Error(`could not get a token (${res.status}): ${res.text}\n${output}`);
    }
    api.token = res.body.accessToken;
  }
  return api;
}

/** Runs dist/main.js to its exit (for start-up failures); kills it after timeoutMs. */
export async function runApiToExit(
  env: Record<string, string>,
  timeoutMs = 30_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  buildApi();
  const child = spawn(process.execPath, [API_MAIN], { env, cwd: API_DIR, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr };
}

async function waitForHealth(
  baseUrl: string,
  child: ChildProcess,
  output: () => string,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(`the API exited with code ${child.exitCode} at start:\n${output()}`);
    try {
      const res = await fetch(`${baseUrl}/health`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the API did not answer /health within ${timeoutMs} ms:\n${output()}`);
}

/** Deletes the queues, streams and gate keys a test API (and its workers) left under its prefix. */
export async function deleteRedisPrefix(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1, lazyConnect: true });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== '0');
  } catch {
    // Redis gone: nothing to tidy
  } finally {
    redis.disconnect();
  }
}

export async function dropDatabase(name: string): Promise<void> {
  const client = new pg.Client({ connectionString: `${PG_SERVER}/postgres` });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${name.replaceAll('"', '""')}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
}
