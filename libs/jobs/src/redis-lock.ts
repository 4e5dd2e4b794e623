import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { RedisScript } from './redis-script.ts';

const UNLOCK = new RedisScript(
  'lock-release',
  `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`,
);

/**
 * A lease on a Redis key, so one process of many does a periodic job (a reconciler pass, a
 * purge). The lease expires by itself if its holder dies; only the holder can release it.
 */
export class RedisLock {
  private readonly redis: Redis;
  private readonly key: string;
  private readonly token = randomUUID();

  constructor(redis: Redis, key: string) {
    this.redis = redis;
    this.key = key;
  }

  /** Runs `work` if the lock is free (held for at most `ttlMs`); answers whether it ran. */
  async runExclusive(ttlMs: number, work: () => Promise<void>): Promise<boolean> {
    if ((await this.redis.set(this.key, this.token, 'PX', ttlMs, 'NX')) !== 'OK') return false;
    try {
      await work();
      return true;
    } finally {
      await UNLOCK.run(this.redis, [this.key], [this.token]);
    }
  }
}
