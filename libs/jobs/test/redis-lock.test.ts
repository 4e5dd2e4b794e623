import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisLock } from '../src/index.ts';
import { connect, uniquePrefix } from './support/redis.ts';

let redis: Redis;

beforeAll(() => {
  redis = connect();
});
afterAll(async () => {
  await redis.quit();
});

describe('RedisLock', () => {
  it('lets one holder at a time run, and frees the key when its work ends (even by throwing)', async () => {
    const key = `${uniquePrefix('lock')}:pass`;
    const a = new RedisLock(redis, key);
    const b = new RedisLock(redis, key);
    let inner: boolean | undefined;
    const outer = await a.runExclusive(5_000, async () => {
      inner = await b.runExclusive(5_000, async () => undefined);
    });
    expect([outer, inner]).toEqual([true, false]);
    await expect(
      b.runExclusive(5_000, async () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await redis.exists(key)).toBe(0);
  });

  it('leaves alone a lease another holder took after this one expired', async () => {
    const key = `${uniquePrefix('lock')}:pass`;
    const slow = new RedisLock(redis, key);
    const other = new RedisLock(redis, key);
    await slow.runExclusive(50, async () => {
      await new Promise((resolve) => setTimeout(resolve, 100));
      // the lease ran out: another holder may take the key meanwhile
      expect(await redis.set(key, 'someone-else', 'PX', 5_000, 'NX')).toBe('OK');
    });
    expect(await redis.get(key)).toBe('someone-else');
    expect(await other.runExclusive(5_000, async () => undefined)).toBe(false);
    await redis.del(key);
  });
});
