import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConcurrencyGate } from '../src/index.ts';
import { connect, deleteKeys, uniquePrefix } from './support/redis.ts';

let redis: Redis;
let prefix: string;
let gate: ConcurrencyGate;

beforeAll(() => {
  redis = connect();
});
afterAll(async () => {
  await redis.quit();
});
afterEach(async () => {
  await deleteKeys(redis, prefix);
});

function newGate(): ConcurrencyGate {
  prefix = uniquePrefix('gate');
  gate = new ConcurrencyGate(redis, { prefix });
  return gate;
}

const queue = (max: number | 'unlimited', payload = '{}') => ({ max, onBusy: 'queue' as const, payload });

describe('concurrency gate', () => {
  it('never admits more than max under concurrent acquires from many clients', async () => {
    newGate();
    const clients = Array.from({ length: 12 }, connect);
    try {
      const gates = clients.map((c) => new ConcurrencyGate(c, { prefix }));
      const results = await Promise.all(
        Array.from({ length: 240 }, (_, i) => gates[i % gates.length].acquire('f', `job-${i}`, queue(3))),
      );
      const admitted = results.filter((r) => r.status === 'admitted');
      const waiting = results.filter((r) => r.status === 'waiting');
      expect(admitted).toHaveLength(3);
      expect(waiting).toHaveLength(237);
      const positions = waiting.map((r) => (r.status === 'waiting' ? r.position : 0)).sort((a, b) => a - b);
      expect(positions).toEqual(Array.from({ length: 237 }, (_, i) => i + 1));
    } finally {
      await Promise.all(clients.map((c) => c.quit()));
    }
  });

  it('keeps at most max jobs running while many workers start, finish and promote concurrently', async () => {
    newGate();
    const clients = Array.from({ length: 8 }, connect);
    try {
      const gates = clients.map((c) => new ConcurrencyGate(c, { prefix }));
      const total = 120;
      const runnable: string[] = [];
      for (let i = 0; i < total; i++) {
        const r = await gate.acquire('f', `job-${i}`, queue(3));
        if (r.status === 'admitted') runnable.push(`job-${i}`);
      }
      let running = 0;
      let peak = 0;
      const finished: string[] = [];
      // each simulated worker takes a runnable job, starts it on the gate, runs 0-3 ms and releases it
      await Promise.all(
        gates.map(async (g, w) => {
          while (finished.length < total) {
            const jobId = runnable.shift();
            if (!jobId) {
              await sleep(1);
              continue;
            }
            const started = await g.start('f', jobId, `worker-${w}`, 10_000);
            expect(started.status).toBe('started');
            running++;
            peak = Math.max(peak, running);
            expect(running).toBeLessThanOrEqual(3);
            await sleep(Math.random() * 3);
            running--;
            finished.push(jobId);
            const released = await g.release('f', jobId);
            runnable.push(...released.promoted.map((p) => p.jobId));
          }
        }),
      );
      expect(new Set(finished).size).toBe(total);
      expect(peak).toBe(3);
    } finally {
      await Promise.all(clients.map((c) => c.quit()));
    }
  });

  it('promotes waiting jobs in the order they arrived, one per freed slot', async () => {
    newGate();
    for (let i = 0; i < 6; i++) await gate.acquire('f', `j${i}`, queue(1, `payload-${i}`));
    const order: string[] = ['j0'];
    let current = 'j0';
    for (let i = 1; i < 6; i++) {
      const r = await gate.release('f', current);
      expect(r.released).toBe(true);
      expect(r.promoted).toEqual([{ jobId: `j${i}`, payload: `payload-${i}` }]);
      current = r.promoted[0].jobId;
      order.push(current);
    }
    expect(order).toEqual(['j0', 'j1', 'j2', 'j3', 'j4', 'j5']);
    const last = await gate.release('f', 'j5');
    expect(last.promoted).toEqual([]);
    expect(await gate.flows()).toEqual([]);
  });

  it('fills every freed slot when max is above one, oldest first', async () => {
    newGate();
    for (let i = 0; i < 7; i++) await gate.acquire('f', `j${i}`, queue(2));
    expect((await gate.release('f', 'j1')).promoted.map((p) => p.jobId)).toEqual(['j2']);
    expect((await gate.release('f', 'j0')).promoted.map((p) => p.jobId)).toEqual(['j3']);
    const states = await gate.inspect('f', ['j2', 'j3', 'j4', 'j6']);
    expect(states.get('j2')).toMatchObject({ state: 'admitted' });
    expect(states.get('j4')).toMatchObject({ state: 'waiting', position: 1 });
    expect(states.get('j6')).toMatchObject({ state: 'waiting', position: 3 });
  });

  it('reclaims an expired lease, promotes the next job and refuses the lost one', async () => {
    newGate();
    await gate.acquire('f', 'a', queue(1));
    await gate.acquire('f', 'b', queue(1, 'payload-b'));
    expect((await gate.start('f', 'a', 'w1', 100)).status).toBe('started');
    expect(await gate.renew('f', 'a', 'w1', 100)).toBe(true);
    await sleep(150);
    expect((await gate.inspect('f', ['a'])).get('a')).toMatchObject({ state: 'expired' });
    const swept = await gate.sweep('f');
    expect(swept.reclaimed).toEqual(['a']);
    expect(swept.promoted).toEqual([{ jobId: 'b', payload: 'payload-b' }]);
    expect(await gate.renew('f', 'a', 'w1', 100)).toBe(false);
    expect((await gate.start('f', 'a', 'w1', 100)).status).toBe('done');
  });

  it('reclaims expired leases on any gate operation, not only on a sweep', async () => {
    newGate();
    await gate.acquire('f', 'a', queue(1));
    await gate.start('f', 'a', 'w1', 50);
    await sleep(80);
    const r = await gate.acquire('f', 'b', queue(1));
    expect(r.reclaimed).toEqual(['a']);
    expect(r.status).toBe('admitted');
  });

  it('never admits a job again once it went through the gate', async () => {
    newGate();
    await gate.acquire('f', 'a', queue(1));
    await gate.release('f', 'a');
    const again = await gate.acquire('f', 'a', queue(1));
    expect(again.status).toBe('done');
    expect((await gate.start('f', 'a', 'w', 1000)).status).toBe('done');
  });

  it('is idempotent: acquiring twice keeps one place, releasing twice frees one slot', async () => {
    newGate();
    expect((await gate.acquire('f', 'a', queue(1))).status).toBe('admitted');
    expect((await gate.acquire('f', 'a', queue(1))).status).toBe('admitted');
    expect(await gate.acquire('f', 'b', queue(1))).toMatchObject({ status: 'waiting', position: 1 });
    expect(await gate.acquire('f', 'b', queue(1))).toMatchObject({ status: 'waiting', position: 1 });
    expect((await gate.release('f', 'a')).promoted.map((p) => p.jobId)).toEqual(['b']);
    const second = await gate.release('f', 'a');
    expect(second).toMatchObject({ released: false, promoted: [] });
  });

  it('releases several jobs of a flow in one call, naming those that held a place', async () => {
    const g = newGate();
    for (const id of ['a', 'b', 'c']) await g.acquire('f', id, queue(1, `p-${id}`));
    const result = await g.releaseMany('f', ['a', 'b', 'x']);
    expect(result.released).toEqual(['a', 'b']);
    expect(result.promoted).toEqual([{ jobId: 'c', payload: 'p-c' }]);
    expect(await g.members('f')).toEqual({ active: ['c'], waiting: [] });
    expect((await g.releaseMany('f', ['a'])).released).toEqual([]);
  });

  it('refuses a busy flow in skip mode, naming the running job', async () => {
    newGate();
    await gate.acquire('f', 'a', queue(1));
    const r = await gate.acquire('f', 'b', { max: 1, onBusy: 'skip', payload: '' });
    expect(r).toMatchObject({ status: 'busy', runningJobId: 'a' });
    expect((await gate.inspect('f', ['b'])).get('b')).toEqual({ state: 'absent' });
  });

  it('admits everything when max is unlimited', async () => {
    newGate();
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => gate.acquire('f', `j${i}`, queue('unlimited'))),
    );
    expect(results.every((r) => r.status === 'admitted')).toBe(true);
  });

  it('lets only the owner renew, and a second worker cannot start a running job', async () => {
    newGate();
    await gate.acquire('f', 'a', queue(1));
    await gate.start('f', 'a', 'w1', 10_000);
    expect(await gate.start('f', 'a', 'w2', 10_000)).toMatchObject({ status: 'taken', owner: 'w1' });
    expect(await gate.renew('f', 'a', 'w2', 10_000)).toBe(false);
    expect(await gate.renew('f', 'a', 'w1', 10_000)).toBe(true);
  });

  it('hands a job back to the queue on shutdown so another worker can start it', async () => {
    newGate();
    await gate.acquire('f', 'a', queue(1));
    await gate.acquire('f', 'b', queue(1));
    await gate.start('f', 'a', 'w1', 10_000);
    expect(await gate.handBack('f', 'a', 'w2')).toBe(false);
    expect(await gate.handBack('f', 'a', 'w1')).toBe(true);
    expect((await gate.inspect('f', ['a', 'b'])).get('a')).toMatchObject({ state: 'admitted' });
    expect((await gate.start('f', 'a', 'w2', 10_000)).status).toBe('started');
    // the slot stayed taken the whole time
    expect((await gate.inspect('f', ['b'])).get('b')).toMatchObject({ state: 'waiting', position: 1 });
  });

  it('cancels a waiting or admitted job out of the gate, and reports a running one', async () => {
    newGate();
    await gate.acquire('f', 'a', queue(1));
    await gate.acquire('f', 'b', queue(1));
    await gate.acquire('f', 'c', queue(1, 'payload-c'));
    expect((await gate.cancel('f', 'b')).status).toBe('removed');
    expect((await gate.inspect('f', ['c'])).get('c')).toMatchObject({ state: 'waiting', position: 1 });
    const cancelA = await gate.cancel('f', 'a');
    expect(cancelA.status).toBe('removed');
    expect(cancelA.promoted).toEqual([{ jobId: 'c', payload: 'payload-c' }]);
    await gate.start('f', 'c', 'w', 10_000);
    expect((await gate.cancel('f', 'c')).status).toBe('running');
    expect((await gate.start('f', 'b', 'w', 1000)).status).toBe('done');
    expect((await gate.cancel('f', 'zzz')).status).toBe('absent');
  });

  it('keeps flows apart', async () => {
    newGate();
    expect((await gate.acquire('f1', 'a', queue(1))).status).toBe('admitted');
    expect((await gate.acquire('f2', 'b', queue(1))).status).toBe('admitted');
    expect((await gate.flows()).sort()).toEqual(['f1', 'f2']);
    expect(await gate.members('f1')).toEqual({ active: ['a'], waiting: [] });
  });
});
