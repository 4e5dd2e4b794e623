import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { redisNames, type JobPayload } from '@junction/protocol';
import { Worker } from 'bullmq';
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
const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0)) await c();
  await dispatcher.close();
  await deleteKeys(redis, prefix);
});

function setup(): RunDispatcher {
  prefix = uniquePrefix('dispatch');
  const names = redisNames(prefix);
  dispatcher = new RunDispatcher(redis, names, new ConcurrencyGate(redis, { prefix: names.gatePrefix }));
  return dispatcher;
}

function payload(jobId: string, gated?: boolean): JobPayload {
  return {
    schemaVersion: 2,
    jobId,
    flowId: 'flow-1',
    flowVersionId: 'v1',
    flow: { name: 'f', steps: [] },
    params: { n: jobId },
    trigger: { type: 'manual' },
    connections: {},
    attempt: 1,
    ...(gated === undefined ? {} : { gated }),
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

  it('puts a job of an unlimited flow straight on the queue, without a gate entry', async () => {
    const d = setup();
    const unlimited = { max: 'unlimited' as const, onBusy: 'queue' as const };
    const id = 'a1b2c3d4-0000-4000-8000-000000000006';
    expect(await d.admit(payload(id, false), unlimited)).toEqual({ status: 'admitted' });
    expect(await d.state(id)).toBe('waiting');
    expect(await d.gate.members('flow-1')).toEqual({ active: [], waiting: [] });
    expect(await d.gate.flows()).toEqual([]);
  });

  it('cancels an ungated job: off the queue while it waits, running once a worker holds it', async () => {
    const d = setup();
    const unlimited = { max: 'unlimited' as const, onBusy: 'queue' as const };
    const waiting = 'a1b2c3d4-0000-4000-8000-000000000007';
    await d.admit(payload(waiting, false), unlimited);
    expect(await d.cancel('flow-1', waiting, false)).toBe('removed');
    expect(await d.state(waiting)).toBe('unknown');
    // not on the queue (yet): the API keeps it cancelling for the reconciler to settle
    expect(await d.cancel('flow-1', 'a1b2c3d4-0000-4000-8000-000000000008', false)).toBe('absent');

    const held = 'a1b2c3d4-0000-4000-8000-000000000009';
    let release: () => void = () => undefined;
    const started = new Promise<void>((resolve) => {
      const worker = new Worker(
        d.queue.name,
        () =>
          new Promise<void>((done) => {
            resolve();
            release = done;
          }),
        { connection: redis.duplicate(), prefix: redisNames(prefix).bullPrefix, name: 'worker-7' },
      );
      cleanup.push(async () => {
        release();
        await worker.close();
      });
    });
    await d.admit(payload(held, false), unlimited);
    await started;
    expect(await d.cancel('flow-1', held, false)).toBe('running');
    expect((await d.states([held, waiting])).get(held)).toEqual({ state: 'active', worker: 'worker-7' });
    expect((await d.states([held, waiting])).get(waiting)).toEqual({ state: 'unknown' });
  });
});
