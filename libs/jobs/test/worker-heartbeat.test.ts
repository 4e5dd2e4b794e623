import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { WorkerHeartbeat, liveWorkers } from '../src/index.ts';
import { useTestRedis } from './support/redis.ts';

const t = useTestRedis();

describe('worker heartbeat', () => {
  it('keeps a worker alive while it beats, and not after it stops or dies', async () => {
    const prefix = t.prefix('heartbeat');
    const redis = t.redis;
    let beats = 0;
    const a = new WorkerHeartbeat(redis, { prefix, workerId: 'a', ttlMs: 300, onBeat: () => beats++ });
    const b = new WorkerHeartbeat(redis, { prefix, workerId: 'b', ttlMs: 300 });
    await a.start();
    await b.start();
    expect(beats).toBe(1);
    // several ttl periods: the beats keep both keys
    await sleep(700);
    expect(beats).toBeGreaterThanOrEqual(3);
    expect(await liveWorkers(redis, prefix, ['a', 'b', 'c', 'a'])).toEqual(new Set(['a', 'b']));

    await b.stop();
    expect(await liveWorkers(redis, prefix, ['a', 'b'])).toEqual(new Set(['a']));

    // a worker that dies stops beating: its key expires after the ttl
    const dead = new WorkerHeartbeat(redis.duplicate(), { prefix, workerId: 'd', ttlMs: 300 });
    await dead.start();
    (dead as unknown as { timer: NodeJS.Timeout }).timer.close();
    expect(await liveWorkers(redis, prefix, ['d'])).toEqual(new Set(['d']));
    await sleep(450);
    expect(await liveWorkers(redis, prefix, ['a', 'd'])).toEqual(new Set(['a']));
    await a.stop();
    expect(await liveWorkers(redis, prefix, [])).toEqual(new Set());
  });
});
