import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { DEFAULT_REDIS_PREFIX, DEVELOPMENT_SECRET_KEY, parseSecretKey } from '@junction/protocol';

export interface WorkerConfig {
  redisUrl: string;
  /** Decrypts connection configs in job payloads, at use. */
  secretKey: Buffer;
  usesDevelopmentKey: boolean;
  concurrency: number;
  port: number;
  /** How long running jobs may take to finish after SIGTERM before they are handed back. */
  shutdownGraceMs: number;
  redisPrefix: string;
  /** Lease on a job's concurrency slot; renewed every third of it while the job runs. */
  leaseMs: number;
  /** Readiness fails when the worker made no progress with Redis for this long. */
  readyStaleMs: number;
  /** step.log events sent per job; the rest are counted, not sent. */
  maxLogEventsPerJob: number;
  workerId: string;
  logLevel: string;
}

export class WorkerConfigError extends Error {
  constructor(problems: string[]) {
    super(`invalid worker configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'WorkerConfigError';
  }
}

/** Reads the environment once, at start-up, and reports every bad variable at once. */
export function loadWorkerConfig(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  const problems: string[] = [];
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${name}: expected an integer from ${min} to ${max}, got "${raw}"`);
      return fallback;
    }
    return n;
  };

  const redisUrl = env.REDIS_URL?.trim() || 'redis://127.0.0.1:6379';
  if (!/^rediss?:\/\//.test(redisUrl))
    problems.push(`REDIS_URL: expected redis://host:port[/db], got "${redisUrl}"`);

  let keyText = env.JUNCTION_SECRET_KEY;
  if (!keyText && env.JUNCTION_SECRET_KEY_FILE) {
    try {
      keyText = readFileSync(env.JUNCTION_SECRET_KEY_FILE, 'utf8');
    } catch (error) {
      problems.push(`JUNCTION_SECRET_KEY_FILE: cannot read it (${(error as Error).message})`);
    }
  }
  let secretKey: Buffer = Buffer.alloc(0);
  const usesDevelopmentKey = !keyText;
  if (!keyText && env.NODE_ENV === 'production') {
    problems.push('JUNCTION_SECRET_KEY: required in production (the same key as the API)');
  } else {
    try {
      secretKey = parseSecretKey(keyText || DEVELOPMENT_SECRET_KEY);
    } catch (error) {
      problems.push(`JUNCTION_SECRET_KEY: ${(error as Error).message}`);
    }
  }

  const config: WorkerConfig = {
    redisUrl,
    secretKey,
    usesDevelopmentKey,
    concurrency: int('WORKER_CONCURRENCY', 4, 1, 1000),
    port: int('WORKER_PORT', 8081, 0, 65535),
    shutdownGraceMs: int('WORKER_SHUTDOWN_GRACE_MS', 30_000, 0, 24 * 3600_000),
    redisPrefix: env.JUNCTION_REDIS_PREFIX?.trim() || DEFAULT_REDIS_PREFIX,
    leaseMs: int('JUNCTION_LEASE_MS', 30_000, 500, 3600_000),
    readyStaleMs: int('WORKER_READY_STALE_MS', 30_000, 1_000, 3600_000),
    maxLogEventsPerJob: int('WORKER_MAX_LOG_EVENTS', 1_000, 0, 1_000_000),
    workerId: env.WORKER_ID?.trim() || `${hostname()}-${process.pid}`,
    logLevel: env.LOG_LEVEL?.trim() || 'info',
  };
  if (problems.length > 0) throw new WorkerConfigError(problems);
  return config;
}
