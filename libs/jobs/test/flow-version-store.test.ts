import { describe, expect, it } from 'vitest';
import { FlowVersionStore } from '../src/index.ts';
import { useTestRedis } from './support/redis.ts';

const t = useTestRedis();

describe('flow version store', () => {
  it('stores a version once, reads it back, and writes again only what Redis lost', async () => {
    const prefix = t.prefix('versions');
    const redis = t.redis;
    const store = new FlowVersionStore(redis, { prefix });
    const v1 = { name: 'f', steps: [{ id: 'a', use: 'transform.map' }] };
    await store.put('v1', v1);
    expect(await store.get('v1')).toEqual(v1);
    expect(await store.get('v2')).toBeUndefined();
    // versions never change: a second write of the same id keeps the first
    await redis.set(`${prefix}:v1`, JSON.stringify({ name: 'first' }));
    await new FlowVersionStore(redis, { prefix }).put('v1', v1);
    expect(await store.get('v1')).toEqual({ name: 'first' });

    await redis.del(`${prefix}:v1`);
    // this process remembers having stored it: put() is free, ensure() looks
    await store.put('v1', v1);
    expect(await store.get('v1')).toBeUndefined();
    expect(
      await store.ensure([
        { id: 'v1', definition: v1 },
        { id: 'v2', definition: { name: 'g' } },
      ]),
    ).toBe(2);
    expect(await store.ensure([{ id: 'v1', definition: v1 }])).toBe(0);
    expect(await store.get('v1')).toEqual(v1);
  });

  it('sweeps the versions nobody vouches for any more', async () => {
    const prefix = t.prefix('versions');
    const redis = t.redis;
    const store = new FlowVersionStore(redis, { prefix });
    const ids = Array.from({ length: 1_200 }, (_, i) => `v${i}`);
    await store.ensure(ids.map((id) => ({ id, definition: { name: id } })));
    const asked: string[] = [];
    const removed = await store.sweep(async (batch) => {
      asked.push(...batch);
      return new Set(batch.filter((id) => Number(id.slice(1)) % 3 === 0));
    });
    expect(new Set(asked)).toEqual(new Set(ids));
    expect(removed).toBe(800);
    expect(await store.get('v3')).toEqual({ name: 'v3' });
    expect(await store.get('v4')).toBeUndefined();
  });
});
