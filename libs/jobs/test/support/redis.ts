import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll } from 'vitest';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A unique key prefix per test, so suites running at once never share keys. */
export function uniquePrefix(name: string): string {
  return `test:${name}:${randomUUID().slice(0, 8)}`;
}

export function connect(): Redis {
  return new Redis(REDIS_URL, { maxRetriesPerRequest: null });
}

export async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    if (keys.length > 0) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}

/**
 * A suite's Redis: one connection for the file, and every key under the prefixes it handed out
 * deleted after each test.
 */
export function useTestRedis(): { readonly redis: Redis; prefix(name: string): string } {
  let redis: Redis | undefined;
  const prefixes: string[] = [];
  beforeAll(() => {
    redis = connect();
  });
  afterEach(async () => {
    for (const p of prefixes.splice(0)) if (redis) await deleteKeys(redis, p);
  });
  afterAll(async () => {
    await redis?.quit();
  });
  return {
    get redis(): Redis {
      if (!redis) throw new Error('useTestRedis: the connection opens in beforeAll');
      return redis;
    },
    prefix(name: string): string {
      const p = uniquePrefix(name);
      prefixes.push(p);
      return p;
    },
  };
}
