import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { redisNames, type JobPayload } from '@junction/protocol';
import { ConcurrencyGate, RunDispatcher } from '../src/index.ts';
import { connect, deleteKeys, uniquePrefix } from './support/redis.ts';

let redis: Redis;
let prefix: string;
let dispatcher: RunDispatcher;

beforeAll(() => {
  redis = connect();
});
afterAll(async () => {
  await redis.quit();
});
afterEach(async () => {
  await dispatcher.close();
  await deleteKeys(redis, prefix);
});

function setup(): RunDispatcher {
  prefix = uniquePrefix('dispatch');
  const names = redisNames(prefix);
  dispatcher = new RunDispatcher(redis, names, new ConcurrencyGate(redis, { prefix: names.gatePrefix }));
  return dispatcher;
}

function payload(jobId: string): JobPayload {
  return {
    schemaVersion: 1,
    jobId,
    flowId: 'flow-1',
    flowVersionId: 'v1',
    flow: { name: 'f', steps: [] },
    params: { n: jobId },
    trigger: { type: 'manual' },
    connections: {},
    attempt: 1,
  };
}

describe('run dispatcher', () => {
  it('puts an admitted job on the queue under its own id, and a waiting one only when promoted', async () => {
    const d = setup();
    const limit = { max: 1, onBusy: 'queue' as const };
    expect(await d.admit(payload('a1b2c3d4-0000-4000-8000-000000000001'), limit)).toEqual({
      status: 'admitted',
    });
    expect(await d.admit(payload('a1b2c3d4-0000-4000-8000-000000000002'), limit)).toEqual({
      status: 'waiting',
      position: 1,
    });
    expect(await d.state('a1b2c3d4-0000-4000-8000-000000000001')).toBe('waiting');
    expect(await d.state('a1b2c3d4-0000-4000-8000-000000000002')).toBe('unknown');

    const released = await d.release('flow-1', 'a1b2c3d4-0000-4000-8000-000000000001');
    expect(released.promoted.map((p) => p.jobId)).toEqual(['a1b2c3d4-0000-4000-8000-000000000002']);
    const job = await d.queue.getJob('a1b2c3d4-0000-4000-8000-000000000002');
    expect(job?.data).toEqual(payload('a1b2c3d4-0000-4000-8000-000000000002'));
  });

  it('adding the same job twice leaves one job on the queue', async () => {
    const d = setup();
    await d.enqueue(payload('a1b2c3d4-0000-4000-8000-000000000003'));
    await d.enqueue(payload('a1b2c3d4-0000-4000-8000-000000000003'));
    expect(await d.queue.getWaitingCount()).toBe(1);
  });

  it('cancelling an admitted job takes it off the queue and promotes the next one', async () => {
    const d = setup();
    const limit = { max: 1, onBusy: 'queue' as const };
    await d.admit(payload('a1b2c3d4-0000-4000-8000-000000000004'), limit);
    await d.admit(payload('a1b2c3d4-0000-4000-8000-000000000005'), limit);
    expect(await d.cancel('flow-1', 'a1b2c3d4-0000-4000-8000-000000000004')).toBe('removed');
    expect(await d.state('a1b2c3d4-0000-4000-8000-000000000004')).toBe('unknown');
    expect(await d.state('a1b2c3d4-0000-4000-8000-000000000005')).toBe('waiting');
  });
});
