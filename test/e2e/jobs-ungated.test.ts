/**
 * Jobs of flows with unlimited concurrency skip the per-flow gate: no slot to claim or free, their
 * liveness comes from the workers' heartbeats and the run queue. The same guarantees must hold:
 * every job runs once and ends, a dead worker's job is failed, cancel works before and during the
 * run, and a job the queue lost is enqueued again.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PG_URL, startJobsEnv, type JobView, type JobsEnv } from '../support/jobs-env.ts';

let env: JobsEnv;
let redis: Redis;
let queue: Queue;
let prefix: string;

// the names libs/protocol gives them (QUEUES.runs, redisNames(prefix))
const RUN_QUEUE = 'junction-runs';
const bullPrefix = (p: string) => `${p}:bull`;
const gatePrefix = (p: string) => `${p}:gate`;

beforeAll(async () => {
  // two workers taking one job at a time: two sleeping jobs keep every worker busy
  env = await startJobsEnv({ workers: 2, workerEnv: { JUNCTION_LEASE_MS: '2000', WORKER_CONCURRENCY: '1' } });
  await env.createConnection('pg', 'postgres', { url: PG_URL });
  prefix = env.api.env.JUNCTION_REDIS_PREFIX;
  redis = new Redis(env.api.env.REDIS_URL, { maxRetriesPerRequest: null });
  queue = new Queue(RUN_QUEUE, { connection: redis, prefix: bullPrefix(prefix) });
}, 180_000);

afterAll(async () => {
  await queue?.close();
  await redis?.quit();
  await env?.stop();
});

const sleeper = (name: string) => ({
  name,
  concurrency: { max: 'unlimited' },
  params: { seconds: { type: 'integer', default: 30 } },
  steps: [
    {
      id: 'nap',
      use: 'database.execute',
      connection: 'pg',
      with: { sql: 'SELECT pg_sleep({{ params.seconds }})' },
    },
  ],
});

async function gateKeys(flowId: string): Promise<string[]> {
  return redis.keys(`${gatePrefix(prefix)}:flow:${flowId}*`);
}

async function cancel(id: string): Promise<JobView> {
  const res = await env.api.request<JobView>('POST', `/api/v1/jobs/${id}/cancel`);
  expect(res.status).toBe(200);
  return res.body;
}

describe('jobs of unlimited flows (not gated)', () => {
  it('runs 60 requests fired at once, each once, and leaves nothing on the gate', async () => {
    const flowId = await env.createFlow({
      name: 'ungated-many',
      concurrency: { max: 'unlimited' },
      params: { n: { type: 'integer', required: true } },
      steps: [{ id: 'shape', use: 'transform.map', with: { fields: { n: '{{ params.n }}' } } }],
    });
    const jobs = await Promise.all(Array.from({ length: 60 }, (_, n) => env.run(flowId, { n })));
    expect(jobs.every((j) => j.status === 'queued' && !j.waitingForSlot)).toBe(true);
    const done = await Promise.all(jobs.map((j) => env.waitFor(j.id)));
    expect(done.map((j) => j.status)).toEqual(jobs.map(() => 'completed'));
    expect(done.map((j) => j.stats.shape?.out)).toEqual(jobs.map(() => 1));
    expect(await gateKeys(flowId)).toEqual([]);
    const started = await Promise.all(
      jobs.map(async (j) => (await queue.getJob(j.id))?.attemptsStarted ?? 0),
    );
    expect(started).toEqual(jobs.map(() => 1));
  }, 60_000);

  it('cancels a job still waiting on the queue at once, and a running one within 2 s', async () => {
    const flowId = await env.createFlow(sleeper('ungated-cancel'));
    const busy = [await env.run(flowId), await env.run(flowId)];
    await Promise.all(busy.map((j) => env.waitFor(j.id, ['running'])));
    const waiting = await env.run(flowId, { seconds: 0 });
    expect(await queue.getJobState(waiting.id)).toBe('waiting');
    expect((await cancel(waiting.id)).status).toBe('cancelled');
    expect(await queue.getJobState(waiting.id)).toBe('unknown');

    const asked = Date.now();
    await Promise.all(busy.map((j) => cancel(j.id)));
    const ended = await Promise.all(busy.map((j) => env.waitFor(j.id, ['cancelled', 'completed', 'failed'])));
    expect(ended.map((j) => j.status)).toEqual(['cancelled', 'cancelled']);
    expect(Date.now() - asked).toBeLessThan(2_000);
    expect((await env.job(waiting.id)).status).toBe('cancelled');
  }, 60_000);

  it('enqueues again a queued job the run queue lost, and it runs once', async () => {
    const flowId = await env.createFlow(sleeper('ungated-lost'));
    const busy = [await env.run(flowId), await env.run(flowId)];
    await Promise.all(busy.map((j) => env.waitFor(j.id, ['running'])));
    const lost = await env.run(flowId, { seconds: 0 });
    // Redis loses it (a failover without persistence, say): PostgreSQL still has it queued
    expect(await queue.remove(lost.id)).toBe(1);
    expect(await queue.getJobState(lost.id)).toBe('unknown');
    const back = Date.now() + 20_000;
    while ((await queue.getJobState(lost.id)) !== 'waiting') {
      if (Date.now() > back) throw new Error('the reconciler did not enqueue the lost job again');
      await sleep(200);
    }
    await Promise.all(busy.map((j) => cancel(j.id)));
    const done = await env.waitFor(lost.id);
    expect(done.status).toBe('completed');
    expect((await queue.getJob(lost.id))?.attemptsStarted).toBe(1);
  }, 60_000);

  it('fails the job of a worker killed mid-run once its heartbeat expires; nothing stays running', async () => {
    const flowId = await env.createFlow(sleeper('ungated-killed'));
    const job = await env.run(flowId);
    await env.waitFor(job.id, ['running']);
    const worker = (await queue.getJob(job.id))?.processedBy;
    const victim = env.workers.find((w) => w.workerId === worker);
    expect(victim).toBeDefined();
    await victim?.stop('SIGKILL');
    const killedAt = Date.now();
    const ended = await env.waitFor(job.id, ['failed', 'completed', 'cancelled'], 30_000);
    expect(ended).toMatchObject({ status: 'failed', error: { type: 'WorkerLost' } });
    // the heartbeat lives 2 s; the reconciler runs every 0.5 s and waits for stored events
    expect(Date.now() - killedAt).toBeLessThan(10_000);
    const running = await env.api.request<{ items: JobView[] }>(
      'GET',
      `/api/v1/jobs?flowId=${flowId}&status=running`,
    );
    expect(running.body.items).toEqual([]);

    // the other worker still runs the flow
    const next = await env.run(flowId, { seconds: 0 });
    expect((await env.waitFor(next.id)).status).toBe('completed');
  }, 60_000);
});
